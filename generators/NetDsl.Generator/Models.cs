using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Generator
{
    /// <summary>
    /// An immutable array with value equality, so pipeline models that hold arrays compare by content
    /// and the incremental driver can cache them.
    /// </summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        public static readonly EquatableArray<T> Empty = new EquatableArray<T>(Array.Empty<T>());

        private readonly T[]? _items;

        public EquatableArray(T[] items) { _items = items; }
        public EquatableArray(IEnumerable<T> items) { _items = items.ToArray(); }

        public int Count => _items?.Length ?? 0;
        public T this[int index] => (_items ?? Array.Empty<T>())[index];
        public T[] ToArray() => (_items ?? Array.Empty<T>()).ToArray();

        public bool Equals(EquatableArray<T> other)
        {
            var a = _items ?? Array.Empty<T>();
            var b = other._items ?? Array.Empty<T>();
            if (ReferenceEquals(a, b)) return true;
            if (a.Length != b.Length) return false;
            var cmp = EqualityComparer<T>.Default;
            for (int i = 0; i < a.Length; i++) if (!cmp.Equals(a[i], b[i])) return false;
            return true;
        }
        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        public override int GetHashCode()
        {
            unchecked
            {
                int hash = 17;
                foreach (var item in _items ?? Array.Empty<T>()) hash = hash * 31 + (item is null ? 0 : item.GetHashCode());
                return hash;
            }
        }

        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);
        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? Array.Empty<T>())).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>One .net additional file: its path and its text (strings compare by value).</summary>
    public sealed record NetFileModel(string Path, string Text);

    /// <summary>A .net file together with the namespace its networks are generated into.</summary>
    public sealed record NetFileInput(NetFileModel File, string Namespace);

    /// <summary>
    /// A compiler diagnostic without any Roslyn type: path, 1-based span (as the compiler reports it), id, severity, message.
    /// </summary>
    public sealed record DiagnosticInfo(
        string Id, NetDsl.Compiler.Severity Severity, string Message, string Path,
        int Line, int Column, int EndLine, int EndColumn);

    /// <summary>One generated file.</summary>
    public sealed record GeneratedSource(string HintName, string Source);

    /// <summary>The result of compiling one .net file: what to add and what to report.</summary>
    public sealed record NetFileResult(
        string Path,
        EquatableArray<GeneratedSource> Sources,
        EquatableArray<DiagnosticInfo> Diagnostics);
}
