namespace SimService.Domain.Tcp;

/// <summary>Linux's TCP states with their kernel numbers (include/net/tcp_states.h), the /proc/net/tcp `st` column.</summary>
public enum TcpState
{
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
}

public static class TcpStateNames
{
    /// <summary>The name `ss` prints (ESTAB, FIN-WAIT-1, ..., UNCONN for CLOSE).</summary>
    public static string ToSsName(this TcpState s) => s switch
    {
        TcpState.Established => "ESTAB",
        TcpState.SynSent => "SYN-SENT",
        TcpState.SynRecv or TcpState.NewSynRecv => "SYN-RECV",
        TcpState.FinWait1 => "FIN-WAIT-1",
        TcpState.FinWait2 => "FIN-WAIT-2",
        TcpState.TimeWait => "TIME-WAIT",
        TcpState.Close => "UNCONN",
        TcpState.CloseWait => "CLOSE-WAIT",
        TcpState.LastAck => "LAST-ACK",
        TcpState.Listen => "LISTEN",
        TcpState.Closing => "CLOSING",
        _ => s.ToString(),
    };

    /// <summary>The RFC/scenario name (ESTABLISHED, FIN-WAIT-1, CLOSED ...).</summary>
    public static string ToDisplayName(this TcpState s) => s switch
    {
        TcpState.Established => "ESTABLISHED",
        TcpState.Close => "CLOSED",
        TcpState.NewSynRecv => "SYN-RECV",
        _ => s.ToSsName(),
    };

    /// <summary>The state as the journal names it (the API's JSON and the journal's text): the display name, with the request socket's NEW-SYN-RECV kept apart.</summary>
    public static string ToJournalName(this TcpState s) => s == TcpState.NewSynRecv ? "NEW-SYN-RECV" : s.ToDisplayName();
}
