using System.Runtime.CompilerServices;

// The kernel tests exercise the internal packed GEMM directly (odd sizes, strides, blocking edges).
[assembly: InternalsVisibleTo("NetDsl.Runtime.Tests")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("NetDsl.SideBySide")]
