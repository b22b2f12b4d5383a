// Polyfill so the netstandard2.0 generator can use records.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
