using SimService.Benchmarks;

if (args.Length > 0 && char.IsDigit(args[0][0])) return Churn.Run(args);

var which = args.Length > 0 ? args[0].ToUpperInvariant() : "ALL";
if (which is "W6" or "ALL")
{
    foreach (int n in args.Length > 1 ? [int.Parse(args[1])] : new[] { 10_000, 30_000, 100_000 })
    {
        var r = Pool.Run(n);
        Console.WriteLine($"W6 n={n} open_per_s={r.OpenPerSec:F0} close_per_s={r.ClosePerSec:F0} established={r.Established} server_fds={r.ServerFds}");
    }
}
return 0;
