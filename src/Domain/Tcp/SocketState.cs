namespace SimService.Domain.Tcp;

/// <summary>
/// socket_state — include/uapi/linux/net.h: the state of the struct socket, apart from the sock's sk_state. Set by
/// __inet_stream_connect(), __inet_accept() and inet_shutdown(); SS_FREE is never seen by a call.
/// </summary>
enum SocketState : byte { Unconnected, Connecting, Connected, Disconnecting }
