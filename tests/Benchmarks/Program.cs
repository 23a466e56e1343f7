using System.Globalization;
using SimService.Benchmarks;

// dotnet run -c Release --project tests/Benchmarks -- W1 | W2 | W4 | W6 | SACK | ISO | JP1M | all [count]
// Each workload ends with one machine-readable line starting with its name. A first argument that is a
// number runs the older churn loop: [connections] [full|states|counters].
if (args.Length > 0 && char.IsDigit(args[0][0])) return Churn.Run(args);

var which = args.Length > 0 ? args[0].ToUpperInvariant() : "ALL";
long? count = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : null;
bool all = which == "ALL";
using var sampler = Environment.GetEnvironmentVariable("SIMBENCH_ALLOC") == "1" ? new AllocationSampler() : null;
if (which is not ("W1" or "W2" or "W3" or "W4" or "W5" or "W6" or "SACK" or "API1M" or "ISO" or "JP1M" or "ALL"))
{
    Console.Error.WriteLine("usage: W1|W2|W3|W4|W5|W6|SACK|API1M|ISO|JP1M|all [count]");
    return 2;
}
if ((all || which == "W6") && Pool.SettingsError() is { } error)
{
    Console.Error.WriteLine(error);
    return 2;
}
if (all || which == "W1") Console.WriteLine(Workloads.W1(count ?? 1_000_000, kernel: Environment.GetEnvironmentVariable("SIMBENCH_KERNEL") != "0"));
if (all || which == "W2") Console.WriteLine(Workloads.W2(count ?? 1_000_000));
if (all || which == "W3") Console.WriteLine(await Durable.W3(count ?? 100_000));
if (which == "SACK") Console.WriteLine(SackLoss.Run(count ?? 64L << 20)); // not part of all: an engine hot path, not a workload
if (which == "API1M") Console.WriteLine(await Durable.Million(count ?? 1_000_000)); // not part of all: a long run
// Not part of all: latencies of one simulation beside another's heavy work (README, Reliability: Isolation, Journal pages).
if (which == "ISO") Console.WriteLine(await Isolation.Iso((int)(count ?? 5)));
if (which == "JP1M") Console.WriteLine(await Isolation.JournalPages((int)(count ?? 14_500)));
if (all || which == "W4") Console.WriteLine(await Durable.W4(count ?? 20_000));
if (all || which == "W5") Console.WriteLine(await Durable.W5(count ?? 100_000));
if (all || which == "W6")
{
    // SIMBENCH_WARMUP=0: no warm-up (the pools run cold, as before session 17); otherwise an untimed pool of 30,000 first (two client hosts, as the measured pools from 30k on).
    int[] ns = count is { } c ? [(int)c] : [10_000, 30_000, 100_000];
    if (Environment.GetEnvironmentVariable("SIMBENCH_WARMUP") != "0")
    {
        Console.WriteLine($"# W6 warm-up: 30000 opened and closed untimed until the JIT settled, {Pool.WarmUp(30_000)} methods compiled by each round");
        // SIMBENCH_HEAPWARM=1: then one untimed pool of the largest N. The collector sizes gen0's budget from what its
        // collections saw survive, so the first pool that holds more than any before it opens on the budget a 30k pool left
        // (≈ 117–150 MB, under the ≈ 194 MB a 100k phase allocates) and collects in its phase. Scale session 40: with server GC
        // it made every 100k pool collection-free; with the default workstation GC the collector's 1-s rule (Pool.Run) still
        // collects in a 100k phase that lasts over a second of wall time, so it is not the default.
        if (ns.Max() > 30_000 && Environment.GetEnvironmentVariable("SIMBENCH_HEAPWARM") == "1")
            Console.WriteLine($"# W6 heap warm-up: {Pool.WarmUpHeap(ns.Max())}");
    }
    // SIMBENCH_KERNEL=0: the engine's pools alone (as W1); otherwise, when root, each is followed by the same pool on the real kernel.
    foreach (var line in Pool.Series(ns, kernel: Environment.GetEnvironmentVariable("SIMBENCH_KERNEL") != "0"))
        Console.WriteLine(line);
}
sampler?.Print();
return 0;
