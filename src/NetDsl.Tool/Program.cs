namespace NetDsl.Tool;

public static class Program
{
    public static int Main(string[] args) => NetDslCli.Run(args);
}
