// Shared by the example programs (linked into each): System.CommandLine parsing and one clear message (no stack trace) and a
// non-zero exit for a bad option (exit 2) or bad data (exit 1). NETDSL_DEBUG=1 prints the stack trace too.
using System.CommandLine;
using NetDsl.Runtime.Training;

namespace NetDsl.Examples;

public static class ExampleCli
{
    /// <summary>An option with a default value and a check: a failing check is a parse error naming the option.</summary>
    public static Option<T> Opt<T>(string name, T defaultValue, string description, Func<T, bool>? valid = null, string? requirement = null)
    {
        var o = new Option<T>(name) { Description = $"{description} (default {defaultValue})", DefaultValueFactory = _ => defaultValue };
        if (valid is not null)
            o.Validators.Add(r =>
            {
                var v = r.GetValueOrDefault<T>();
                if (!valid(v)) r.AddError($"{name} {requirement ?? "is out of range"}, got {v}");
            });
        return o;
    }

    /// <summary>Parses <paramref name="args"/> and runs <paramref name="run"/>; returns the process exit code.</summary>
    public static int Run(RootCommand root, string[] args, Func<ParseResult, int> run)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run with --help for the options.");
            return 2;
        }
        root.SetAction(p => run(p));
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or IOException
                                   or NonFiniteLossException or NetDsl.Runtime.NonFiniteException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (Environment.GetEnvironmentVariable("NETDSL_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }
}
