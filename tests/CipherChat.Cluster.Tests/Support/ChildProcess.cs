using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CipherChat.Cluster.Tests.Support;

/// <summary>A child process for the fault tests (a server node, a Redis), killed with SIGKILL on dispose.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ChildProcess(Process process)
    {
        _process = process;
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

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The built cipherchat.dll, copied next to the tests by the CLI project reference.</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "cipherchat.dll");

    /// <summary>Finds <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Starts a process and waits until something accepts TCP connections on <paramref name="port"/>.</summary>
    public static async Task<ChildProcess> StartAsync(string fileName, IEnumerable<string> arguments, int port, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                Assert.False(process.HasExited, $"{Path.GetFileName(fileName)} exited early:\n{child.Log}");
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
                    return child;
                }
                catch (SocketException) when (attempt < 300)
                {
                    await Task.Delay(100, TestContext.Current.CancellationToken);
                }
            }
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no clean shutdown of any kind.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
