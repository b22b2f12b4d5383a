namespace NetDsl.Runtime.Tests;

/// <summary>
/// <c>Tensor.ToString()</c> prints values as PyTorch 1.13 does; each expected string is what <c>print(torch.…)</c> printed
/// for the same values (with PyTorch's <c>dtype=torch.float64</c> written <c>dtype=float64</c>).
/// </summary>
public class TensorFormatterTests
{
    private static Tensor<float> F(float[] v, params int[] shape) => Tensor<float>.FromArray(v, shape);
    private static float[] Range(int n, float div = 1) => Enumerable.Range(0, n).Select(i => i / div).ToArray();

    [Fact]
    public void Small_matrices_align_their_columns_with_four_decimals() =>
        Assert.Equal("tensor([[ 0.1000, -2.0000],\n        [ 3.2500,  4.0000]])", F([0.1f, -2f, 3.25f, 4f], 2, 2).ToString());

    [Fact]
    public void Integral_floats_print_with_a_trailing_point() =>
        Assert.Equal("tensor([[0., 1., 2.],\n        [3., 4., 5.]])", F(Range(6), 2, 3).ToString());

    [Fact]
    public void Wide_ranges_switch_to_scientific() =>
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00, 3.0000e+02])", F([1e-5f, 1f, 300f], 3).ToString());

    [Fact]
    public void Scalars_ints_doubles_and_specials()
    {
        Assert.Equal("tensor(1.5000)", F([1.5f]).ToString());
        Assert.Equal("tensor([[1, 2],\n        [3, 4]], dtype=int32)", Tensor<int>.FromArray([1, 2, 3, 4], 2, 2).ToString());
        Assert.Equal("tensor([1., 2.], dtype=float64)", Tensor<double>.FromArray([1, 2], 2).ToString());
        Assert.Equal("tensor([   nan, 1.5000,    inf])", F([float.NaN, 1.5f, float.PositiveInfinity], 3).ToString());
    }

    [Fact]
    public void Long_rows_wrap_at_80_columns()
    {
        const string expected = """
            tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,
                    1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,
                    2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,
                    3.8571, 4.0000, 4.1429])
            """;
        Assert.Equal(expected.Replace("\r", ""), F(Range(30, 7), 30).ToString());
    }

    [Fact]
    public void Three_dimensional_tensors_separate_blocks_with_a_blank_line()
    {
        const string expected = """
            tensor([[[ 0.,  1.,  2.,  3.],
                     [ 4.,  5.,  6.,  7.],
                     [ 8.,  9., 10., 11.]],

                    [[12., 13., 14., 15.],
                     [16., 17., 18., 19.],
                     [20., 21., 22., 23.]]])
            """;
        Assert.Equal(expected.Replace("\r", ""), F(Range(24), 2, 3, 4).ToString());
    }

    [Fact]
    public void Tensors_over_1000_elements_are_abbreviated()
    {
        const string expected = """
            tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 6.7143e+00, 6.8571e+00,
                     7.0000e+00],
                    [7.1429e+00, 7.2857e+00, 7.4286e+00,  ..., 1.3857e+01, 1.4000e+01,
                     1.4143e+01],
                    [1.4286e+01, 1.4429e+01, 1.4571e+01,  ..., 2.1000e+01, 2.1143e+01,
                     2.1286e+01],
                    ...,
                    [2.6429e+02, 2.6443e+02, 2.6457e+02,  ..., 2.7100e+02, 2.7114e+02,
                     2.7129e+02],
                    [2.7143e+02, 2.7157e+02, 2.7171e+02,  ..., 2.7814e+02, 2.7829e+02,
                     2.7843e+02],
                    [2.7857e+02, 2.7871e+02, 2.7886e+02,  ..., 2.8529e+02, 2.8543e+02,
                     2.8557e+02]])
            """;
        var s = F(Range(2000, 7), 40, 50).ToString();
        Assert.Equal(expected.Replace("\r", ""), s);
        // A million elements print as quickly as a small tensor would, in a few lines.
        Assert.True(F(new float[1_000_000], 1000, 1000).ToString().Split('\n').Length <= 8);
    }

    [Fact]
    public void Views_print_their_own_elements_and_Describe_keeps_the_old_summary()
    {
        var storage = F(Range(10), 10);
        var view = storage.View(4, 2, 2);
        Assert.Equal("tensor([[4., 5.],\n        [6., 7.]])", view.ToString());
        Assert.Equal("Tensor<Single>[2, 2] on " + Device.Cpu.Name, view.Describe());
    }
}
