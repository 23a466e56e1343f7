using System.Diagnostics;

namespace SimService.Domain.Tests.Outputs;

/// <summary>Runs the real tshark (Debian's, installed by .ci/run) on a capture and returns one row of fields per packet.</summary>
public static class Tshark
{
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> Fields(byte[] capture, params string[] fields)
    {
        var file = Path.Combine(Path.GetTempPath(), $"simservice-{Environment.ProcessId}-{Interlocked.Increment(ref _next)}.pcap");
        File.WriteAllBytes(file, capture);
        try
        {
            var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-r", file, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=," })
                psi.ArgumentList.Add(a);
            foreach (var f in fields)
            {
                psi.ArgumentList.Add("-e");
                psi.ArgumentList.Add(f);
            }
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("tshark did not start");
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"tshark exited {p.ExitCode}: {stderr.Result}");
            return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
            {
                var values = line.Split('|');
                return (IReadOnlyDictionary<string, string>)fields.Select((f, i) => (f, v: values[i])).ToDictionary(x => x.f, x => x.v);
            })];
        }
        finally
        {
            File.Delete(file);
        }
    }

    static int _next;
}
