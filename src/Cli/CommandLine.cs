namespace SimService.Cli;

/// <summary>
/// The command line of one command: its positional arguments, options with a value (<c>--junit FILE</c> or
/// <c>--junit=FILE</c>) and flags (<c>--in-process</c>). Anything else is a one-line usage error.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Arguments { get; }

    private CommandLine(List<string> arguments) => Arguments = arguments;

    /// <summary>Parses <paramref name="args"/> against the options and flags the command knows.</summary>
    public static (CommandLine? Line, string? Error) Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> options, IReadOnlyCollection<string> flags)
    {
        var arguments = new List<string>();
        var line = new CommandLine(arguments);
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                arguments.AddRange(args.Skip(i + 1));
                break;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                arguments.Add(arg);
                continue;
            }
            var (name, inline) = arg.IndexOf('=') is var eq and > 0 ? (arg[2..eq], arg[(eq + 1)..]) : (arg[2..], null);
            if (flags.Contains(name))
            {
                if (inline is not null) return (null, $"--{name} takes no value");
                line._flags.Add(name);
            }
            else if (options.Contains(name))
            {
                // The next argument is the value unless it is an option itself (`--json --junit r.xml` forgot the
                // value; --json=--x names such a file).
                var value = inline ?? (i + 1 < args.Count && !IsOption(args[i + 1]) ? args[++i] : null);
                if (string.IsNullOrEmpty(value)) return (null, $"--{name} needs a value");
                line._values[name] = value;
            }
            else return (null, $"unknown option --{name}");
        }
        return (line, null);
    }

    static bool IsOption(string arg) => arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2;

    public string? Value(string name) => _values.GetValueOrDefault(name);

    public bool Has(string name) => _flags.Contains(name);
}
