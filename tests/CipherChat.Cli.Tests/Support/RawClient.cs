using System.Net.Security;
using System.Net.Sockets;

namespace CipherChat.Cli.Tests.Support;

/// <summary>A hostile peer: writes arbitrary bytes to the server and reads whatever comes back, within a time bound.</summary>
internal static class RawClient
{
    public static async Task<byte[]> SendAsync(int port, bool tls, byte[] bytes, bool halfClose = true)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        Stream stream = tcp.GetStream();
        if (tls)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
            await ssl.AuthenticateAsClientAsync("cipherchat");
            stream = ssl;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = new MemoryStream();
        try
        {
            await stream.WriteAsync(bytes, timeout.Token);
            await stream.FlushAsync(timeout.Token);
            if (halfClose && !tls)
            {
                tcp.Client.Shutdown(SocketShutdown.Send);
            }

            var buffer = new byte[4096];
            while (received.Length < 1 << 20)
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // The server may cut the connection while we write or read: that is its right.
        }

        await stream.DisposeAsync();
        return received.ToArray();
    }
}
