using System.Diagnostics;

namespace SimService.Cli.Reports;

/// <summary>
/// A live line on a terminal ("[3/12] running x.json 4.2 s", redrawn in place while a long workload runs), cleared
/// before each result line; nothing when the output is redirected, where the result lines are the plain progress.
/// </summary>
public sealed class Progress : IDisposable
{
    private readonly TextWriter _terminal;
    private readonly bool _live;
    private readonly Lock _gate = new();
    private Timer? _timer;
    private string _text = "";
    private long _started;
    private int _width;

    public Progress(TextWriter terminal, bool live)
    {
        _terminal = terminal;
        _live = live;
    }

    /// <summary>Whether to draw: stderr is a terminal that can redraw a line.</summary>
    public static bool IsInteractive() =>
        !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb" && Environment.GetEnvironmentVariable("CI") is null;

    public void Start(int index, int total, string file)
    {
        if (!_live) return;
        lock (_gate)
        {
            _text = $"[{index}/{total}] running {file}";
            _started = Stopwatch.GetTimestamp();
            Draw();
            _timer ??= new Timer(_ => { lock (_gate) Draw(); }, null, 250, 250);
        }
    }

    public void Clear()
    {
        if (!_live) return;
        lock (_gate)
        {
            _text = "";
            _terminal.Write("\r" + new string(' ', _width) + "\r");
            _width = 0;
            _terminal.Flush();
        }
    }

    private void Draw()
    {
        if (_text.Length == 0) return;
        var line = $"{_text} {Stopwatch.GetElapsedTime(_started).TotalSeconds:0.0} s";
        _terminal.Write("\r" + line.PadRight(_width));
        _width = Math.Max(_width, line.Length);
        _terminal.Flush();
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Clear();
    }
}
