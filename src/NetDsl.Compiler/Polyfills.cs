// Polyfills so the netstandard2.0 compiler core can use records and init-only setters.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
