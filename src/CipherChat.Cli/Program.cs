using CipherChat.Cli;

return await CliApp.RunAsync(args, CliEnvironment.FromProcess());
