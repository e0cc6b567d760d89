namespace HailoCtl;

public static class Program
{
    public static async Task<int> Main(string[] args) =>
        await Cli.RunAsync(args, Console.Out, Console.Error, CtlSettings.FromEnvironment());
}
