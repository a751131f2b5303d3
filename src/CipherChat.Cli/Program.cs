using CipherChat.Cli;

if (SystemTrustStore.NotNeededFor(args))
{
    SystemTrustStore.SkipForThisProcess();
}

return await CliApp.RunAsync(args, CliEnvironment.FromProcess());
