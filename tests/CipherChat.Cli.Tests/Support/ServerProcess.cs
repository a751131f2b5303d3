using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CipherChat.Cli.Tests.Support;

/// <summary>
/// <c>cipherchat server --tls off</c> as a child process (the built cipherchat.dll next to the tests),
/// for tests that must kill the server for real. Always killed on dispose.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "cipherchat.dll");

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static async Task<ServerProcess> StartAsync(string dataDirectory, int port)
    {
        Assert.True(File.Exists(CliDll), $"cipherchat.dll not found next to the tests ({CliDll})");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var info = new ProcessStartInfo(string.IsNullOrEmpty(host) ? "dotnet" : host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in new[] { CliDll, "server", "--tls", "off", "--data", dataDirectory, "--listen", $"127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilListeningAsync(port);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>SIGKILL: no clean shutdown, no flushing, nothing.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(10_000);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 64 * 1024)
            {
                _log.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilListeningAsync(int port)
    {
        for (var i = 0; i < 300; i++)
        {
            Assert.False(_process.HasExited, "cipherchat server exited: " + Log);
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Fail("cipherchat server did not start listening within 30 seconds: " + Log);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
