namespace NetDsl.Runtime.Optim;

/// <summary>Learning rate as a function of the (0-based) epoch; set <see cref="Optimizer{T}.LearningRate"/> from it before each epoch.</summary>
public interface ILrSchedule
{
    double LearningRate(int epoch);
}

public sealed class ConstantLR(double lr) : ILrSchedule
{
    public double BaseLearningRate { get; } = lr;
    public double LearningRate(int epoch) => BaseLearningRate;
}

/// <summary>PyTorch's StepLR: lr = base · γ^⌊epoch / stepSize⌋.</summary>
public sealed class StepLR : ILrSchedule
{
    public double BaseLearningRate { get; }
    public int StepSize { get; }
    public double Gamma { get; }

    public StepLR(double baseLr, int stepSize, double gamma = 0.1)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"step size must be positive, got {stepSize}");
        BaseLearningRate = baseLr;
        StepSize = stepSize;
        Gamma = gamma;
    }

    public double LearningRate(int epoch) => BaseLearningRate * Math.Pow(Gamma, Math.Max(0, epoch) / StepSize);
}

/// <summary>
/// PyTorch's CosineAnnealingLR (closed form, no restarts): lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2,
/// reaching η_min at epoch T_max. Past T_max the schedule stays at η_min (PyTorch's closed form would rise again).
/// </summary>
public sealed class CosineAnnealingLR : ILrSchedule
{
    public double BaseLearningRate { get; }
    public int TMax { get; }
    public double EtaMin { get; }

    public CosineAnnealingLR(double baseLr, int tMax, double etaMin = 0)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"T_max must be positive, got {tMax}");
        BaseLearningRate = baseLr;
        TMax = tMax;
        EtaMin = etaMin;
    }

    public double LearningRate(int epoch)
    {
        int e = Math.Clamp(epoch, 0, TMax);
        return EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * e / TMax)) / 2;
    }
}
