using NetDsl.Runtime;
using NetDsl.Runtime.Optim;
using NetDsl.Runtime.Training;

namespace NetDsl.Runtime.Tests;

/// <summary>A run stopped after k steps, saved (parameters, optimizer, schedule) and resumed equals the uninterrupted run bit for bit.</summary>
public class OptimizerStateTests
{
    [Theory]
    [InlineData("sgd_momentum", 37)]
    [InlineData("sgd_dampening_wd", 1)]
    [InlineData("adam_amsgrad", 50)]
    [InlineData("rmsprop_centered_momentum_wd", 63)]
    [InlineData("adagrad", 20)]
    [InlineData("cosine_warmup_batch", 5)]
    [InlineData("onecycle_batch", 71)]
    [InlineData("plateau_epoch", 45)]
    [InlineData("groups_adamw_no_decay_cosine", 33)]
    [InlineData("clip_norm", 40)]
    public void Resumed_run_equals_uninterrupted_run_bit_for_bit(string name, int stopAfter)
    {
        const int steps = OptimizerTorchTests.Steps;
        var full = OptimizerTorchTests.InitialParameters<float>();
        var (o1, s1, perBatch) = OptimizerTorchTests.Make(name, full);
        OptimizerTorchTests.Run(o1, s1, perBatch, full, 1, steps);

        var dir = Directory.CreateTempSubdirectory("netdsl-resume-");
        try
        {
            var first = OptimizerTorchTests.InitialParameters<float>();
            var (o2, s2, _) = OptimizerTorchTests.Make(name, first);
            OptimizerTorchTests.Run(o2, s2, perBatch, first, 1, stopAfter);
            string model = Path.Combine(dir.FullName, "model.ckpt"), optim = Path.Combine(dir.FullName, "optim.ckpt");
            Checkpoint.Save(model, first);
            OptimizerCheckpoint.Save(optim, o2, s2, new Dictionary<string, string> { ["steps"] = stopAfter.ToString() });

            // a fresh process: new parameters (at their initial values), optimizer and schedule, then the files
            var resumed = OptimizerTorchTests.InitialParameters<float>();
            var (o3, s3, _) = OptimizerTorchTests.Make(name, resumed);
            Checkpoint.Load(model, resumed);
            var extra = OptimizerCheckpoint.Load(optim, o3, s3);
            Assert.Equal(stopAfter.ToString(), extra["steps"]);
            Assert.Equal(stopAfter, o3.StepCount);
            OptimizerTorchTests.Run(o3, s3, perBatch, resumed, stopAfter + 1, steps);

            for (int k = 0; k < full.Length; k++)
                Assert.Equal(full[k].Value.AsSpan().ToArray(), resumed[k].Value.AsSpan().ToArray()); // exact float equality
            Assert.Equal(o1.LearningRate, o3.LearningRate);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Resuming_without_the_optimizer_state_differs()
    {
        // the test above would be vacuous if the state did not matter: a fresh optimizer after 37 steps ends elsewhere
        var full = OptimizerTorchTests.InitialParameters<float>();
        var (o1, s1, pb) = OptimizerTorchTests.Make("adam", full);
        OptimizerTorchTests.Run(o1, s1, pb, full, 1, 100);
        var part = OptimizerTorchTests.InitialParameters<float>();
        var (o2, s2, _) = OptimizerTorchTests.Make("adam", part);
        OptimizerTorchTests.Run(o2, s2, pb, part, 1, 37);
        var (o3, s3, _) = OptimizerTorchTests.Make("adam", part);
        OptimizerTorchTests.Run(o3, s3, pb, part, 38, 100);
        Assert.NotEqual(full[0].Value.AsSpan().ToArray(), part[0].Value.AsSpan().ToArray());
    }

    [Fact]
    public void Loading_a_mismatched_state_names_the_problem()
    {
        var dir = Directory.CreateTempSubdirectory("netdsl-resume-");
        try
        {
            var ps = OptimizerTorchTests.InitialParameters<float>();
            var adam = new Adam<float>(ps);
            string path = Path.Combine(dir.FullName, "optim.ckpt");
            OptimizerCheckpoint.Save(path, adam);
            var e = Assert.Throws<InvalidDataException>(() => OptimizerCheckpoint.Load(path, new Sgd<float>(ps, 0.1, momentum: 0.9)));
            Assert.Contains("'Adam', not Sgd", e.Message);
            Assert.Contains(path, e.Message);
            var other = Parameter<float>.Create(Device.Cpu, "layer.weight", [3, 3]);
            e = Assert.Throws<InvalidDataException>(() => OptimizerCheckpoint.Load(path, new Adam<float>([other])));
            Assert.Contains("layer.weight.exp_avg", e.Message);
            Assert.Contains("[5, 6]", e.Message);
            e = Assert.Throws<InvalidDataException>(() => OptimizerCheckpoint.Load(path, new Adam<float>(ps), new StepLR(0.1, 3)));
            Assert.Contains("no schedule state", e.Message);
        }
        finally { dir.Delete(recursive: true); }
    }
}
