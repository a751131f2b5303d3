using System.Net;
using System.Net.Sockets;

namespace CipherChat.Cli.Tests.Support;

/// <summary>A loopback TCP proxy that forwards to a server and keeps a copy of every byte in both directions.</summary>
internal sealed class RecordingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly MemoryStream _captured = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _acceptLoop;

    public RecordingProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public byte[] Captured()
    {
        lock (_captured)
        {
            return _captured.ToArray();
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                lock (_pumps)
                {
                    _pumps.Add(PumpAsync(client, upstream));
                    _pumps.Add(PumpAsync(upstream, client));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.GetStream().ReadAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                lock (_captured)
                {
                    _captured.Write(buffer, 0, n);
                }

                await to.GetStream().WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        Task[] pumps;
        lock (_pumps)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps);
        _stop.Dispose();
        _captured.Dispose();
    }
}
