using System.Text;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Observability;

/// <summary>`dmesg` text of a host's kernel log, stamped with virtual time since the simulation started (boot).</summary>
public static class KernelLog
{
    /// <summary>
    /// The host's <see cref="KernelLogged"/> journal events as dmesg lines. The times come from the
    /// journal, so a simulation journaling below <see cref="JournalLevel.States"/> has no lines here
    /// (<see cref="Host.KernelLog"/> still holds the text).
    /// </summary>
    public static string Dmesg(Host host)
    {
        var sb = new StringBuilder();
        foreach (var e in host.Sim.Journal)
            if (e is KernelLogged logged && logged.Host == host.Name)
                sb.Append(Line(logged.At, logged.Line)).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Models print_time() — kernel/printk/printk.c (and util-linux dmesg): "[%5lu.%06lu] " —
    /// whole seconds right-aligned in five columns, then microseconds.
    /// </summary>
    public static string Line(SimTime at, string text) =>
        $"[{at.Ns / 1_000_000_000,5}.{at.Ns % 1_000_000_000 / 1_000:D6}] {text}";
}
