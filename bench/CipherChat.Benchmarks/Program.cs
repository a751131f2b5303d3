using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/CipherChat.Benchmarks -- --filter '*'   (see docs/PERFORMANCE.md)
BenchmarkSwitcher.FromAssembly(typeof(CipherChat.Benchmarks.MlsFixture).Assembly).Run(args);
