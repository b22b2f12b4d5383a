using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Runtime;

/// <summary>
/// Packed GEMM operands that start on a cache line: the micro-kernel loads 64-byte vectors of packed B at offsets that are
/// multiples of 128 bytes from the panel start, so with the start 64-byte aligned no load is split across two cache lines
/// (a managed array's data is only 8- or 16-byte aligned). The arrays are pinned (pinned object heap), so the aligned
/// start found when packing is the one found when reading, and <see cref="Pad{T}"/> elements longer than asked.
/// </summary>
internal static class AlignedArrays
{
    public const int Bytes = 64;

    /// <summary>Elements allocated beyond the requested length (room to move the start to a 64-byte boundary).</summary>
    public static int Pad<T>() where T : unmanaged => Bytes / Unsafe.SizeOf<T>();

    /// <summary>A zeroed pinned array with room for <paramref name="length"/> elements from its aligned start.</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged => GC.AllocateArray<T>(length + Pad<T>(), pinned: true);

    /// <summary>The first element of <paramref name="array"/> (from <see cref="Allocate{T}"/>) on a 64-byte boundary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ref T Start<T>(T[] array) where T : unmanaged
    {
        ref T r = ref MemoryMarshal.GetArrayDataReference(array);
        nint misalign = (nint)Unsafe.AsPointer(ref r) & (Bytes - 1);
        return ref Unsafe.Add(ref r, (int)(((Bytes - misalign) & (Bytes - 1)) / Unsafe.SizeOf<T>()));
    }
}
