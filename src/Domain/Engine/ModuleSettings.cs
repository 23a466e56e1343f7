// No zeroing of every local in each method's prologue: the engine's hot methods hold large struct locals (TcpOptions,
// CallArgs, SackBlocks), which C#'s definite assignment already makes sure are written before they are read. The one
// place that relied on it — a stackalloc read before all of it was written (Pcap.Classic's header) — clears its span.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
