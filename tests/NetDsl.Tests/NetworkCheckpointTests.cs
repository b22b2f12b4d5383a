using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using Xunit;

namespace NetDsl.Tests;

/// <summary>Saving and loading a generated network's parameters by name.</summary>
public class NetworkCheckpointTests
{
    [Fact]
    public void A_loaded_network_computes_what_the_saved_one_did()
    {
        var path = Path.Combine(Path.GetTempPath(), $"netdsl-lenet-{Guid.NewGuid():N}.ckpt");
        try
        {
            var x = Tensor<float>.FromArray(TestData.Random(4 * 784, 11).Select(v => (float)v).ToArray(), 4, 1, 28, 28);
            var y = Tensor<int>.FromArray([1, 2, 3, 4], 4);
            var trained = new LeNet5(Device.Cpu, seed: 1);
            var sgd = new Sgd<float>(trained.Parameters, lr: 0.1, momentum: 0.9);
            for (int i = 0; i < 3; i++) trained.TrainStep(x, y, sgd);
            trained.Eval();
            var expected = trained.Forward(x).CopyToHost();
            trained.Save(path);

            var loaded = new LeNet5(Device.Cpu, seed: 99);
            loaded.Eval();
            Assert.NotEqual(expected, loaded.Forward(x).CopyToHost());
            loaded.Load(path);
            Assert.Equal(expected, loaded.Forward(x).CopyToHost());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Loading_a_checkpoint_of_another_network_names_the_file_and_the_problem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"netdsl-mlp-{Guid.NewGuid():N}.ckpt");
        try
        {
            new TinyMlp(Device.Cpu).Save(path);
            var ex = Assert.ThrowsAny<Exception>(() => new LeNet5(Device.Cpu).Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("conv1.weight", ex.Message);
        }
        finally { File.Delete(path); }
    }
}
