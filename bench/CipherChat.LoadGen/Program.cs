using CipherChat.LoadGen;

// Bounded by construction: every step and hold has a fixed length; a hard ceiling guards the rest.
if (args is ["summarize", var file])
{
    Console.Write(Summary.Summarize(File.ReadLines(file)));
    return 0;
}

LoadGenOptions options;
try
{
    options = LoadGenOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"cipherchat-loadgen: {ex.Message}");
    Console.Error.WriteLine(LoadGenOptions.Usage);
    return 2;
}

var target = new TargetOptions(
    options.Target,
    options.Server,
    options.Tls,
    options.Fingerprint,
    options.SourceAddresses,
    ReceiveBufferBytes: options.Scenario == "fanout" ? 64 * 1024 : 4 * 1024)
{
    Endpoints = options.Servers,
};

using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(30));
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    if (options.Scenario == "fanout")
    {
        var result = await FanOutScenario.RunAsync(options, target, cancel.Token);
        Console.WriteLine(options.Json ? Report.Json(result) : Report.Table(result));
        return result.Error is null && result.Steps.Count > 0 ? 0 : 1;
    }
    else
    {
        var result = await ConnectionsScenario.RunAsync(options, target, cancel.Token);
        Console.WriteLine(options.Json ? Report.Json(result) : Report.Table(result));
        return result.Error is null ? 0 : 1;
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cipherchat-loadgen: stopped before the end");
    return 3;
}
