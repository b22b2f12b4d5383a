using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Runtime.Tests;

/// <summary>
/// The packed GEMM operands' buffers (<see cref="AlignedArrays"/>): their aligned start is on a 64-byte boundary, the
/// requested length fits after it, and it stays the same after garbage collections (the arrays are pinned), since the
/// packing and the micro-kernel each find the start anew.
/// </summary>
public class AlignedArraysTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(4096)]
    [InlineData(300_000)]      // large object heap size
    public void StartIsOnACacheLineAndStable(int length)
    {
        Check<float>(length);
        Check<double>(length);
    }

    private static nint Address<T>(T[] a) where T : unmanaged
    {
        var h = GCHandle.Alloc(a, GCHandleType.Pinned);
        try { return h.AddrOfPinnedObject() + (nint)Unsafe.ByteOffset(ref MemoryMarshal.GetArrayDataReference(a), ref AlignedArrays.Start(a)); }
        finally { h.Free(); }
    }

    private static void Check<T>(int length) where T : unmanaged
    {
        var arrays = new List<T[]>();
        for (int i = 0; i < 8; i++) { arrays.Add(AlignedArrays.Allocate<T>(length)); _ = new byte[1000 + i * 24]; }
        var starts = new List<nint>();
        foreach (var a in arrays)
        {
            nint start = Address(a);
            Assert.Equal(0, start % AlignedArrays.Bytes);
            long skipped = (long)Unsafe.ByteOffset(ref MemoryMarshal.GetArrayDataReference(a), ref AlignedArrays.Start(a)) / Unsafe.SizeOf<T>();
            Assert.InRange(skipped, 0, AlignedArrays.Pad<T>() - 1);
            Assert.True(skipped + length <= a.Length);
            starts.Add(start);
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        for (int i = 0; i < arrays.Count; i++) Assert.Equal(starts[i], Address(arrays[i]));
    }

    [Fact]
    public void PackedWeightSlotIsAlignedAndReusedAtTheSameLength()
    {
        var slot = new PackedWeights<float>();
        var a = slot.AlignedBuffer(1000);
        Assert.Same(a, slot.AlignedBuffer(1000));
        Assert.True(a.Length >= 1000 + AlignedArrays.Pad<float>());
        Assert.NotSame(a, slot.AlignedBuffer(2000));
    }
}
