using System.Globalization;

namespace NetDsl.Runtime.Optim;

/// <summary>Learning rate as a function of the (0-based) epoch; set <see cref="Optimizer{T}.LearningRate"/> from it before each epoch.</summary>
public interface ILrSchedule
{
    double LearningRate(int epoch);
}

/// <summary>
/// A learning-rate schedule like torch.optim.lr_scheduler: <see cref="Position"/> counts the <see cref="Step()"/> calls, and
/// the learning rate is a function of it. Step it once per batch or once per epoch (your choice: the schedule only counts).
/// Built with an optimizer (or <see cref="Attach"/>ed to one), it sets the optimizer's learning rate at construction and after
/// every step, as torch's schedulers do: call <c>optimizer.Step()</c>, then <c>schedule.Step()</c>.
/// </summary>
public abstract class LrScheduler : ILrSchedule
{
    protected LrScheduler(double baseLr)
    {
        if (!(baseLr >= 0)) throw new ArgumentOutOfRangeException(nameof(baseLr), $"base learning rate must be >= 0, got {baseLr}");
        BaseLearningRate = baseLr;
    }

    public double BaseLearningRate { get; }
    /// <summary>How many times <see cref="Step()"/> has been called (torch's <c>last_epoch</c>).</summary>
    public int Position { get; protected set; }
    /// <summary>The optimizer whose learning rate this schedule sets, if any.</summary>
    public IOptimizer? Optimizer { get; private set; }

    /// <summary>The learning rate at position <paramref name="step"/> (0 = before any <see cref="Step()"/>).</summary>
    public abstract double LearningRate(int step);

    /// <summary>The learning rate now (at <see cref="Position"/>).</summary>
    public virtual double Current => LearningRate(Position);

    /// <summary>Advances the schedule by one and returns (and applies, when attached) the new learning rate.</summary>
    public virtual double Step()
    {
        Position++;
        Apply();
        return Current;
    }

    /// <summary>Advances with a monitored metric (used by <see cref="ReduceLROnPlateau"/>; other schedules ignore it).</summary>
    public virtual double Step(double metric) => Step();

    /// <summary>Makes this schedule set <paramref name="optimizer"/>'s learning rate, starting now.</summary>
    public LrScheduler Attach(IOptimizer optimizer)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Apply();
        return this;
    }

    protected void Apply()
    {
        if (Optimizer is not null) Optimizer.LearningRate = Current;
    }

    /// <summary>The schedule's state ("position" and any running state), as strings (safetensors-metadata shaped).</summary>
    public virtual Dictionary<string, string> StateDict() => new() { ["position"] = Position.ToString(CultureInfo.InvariantCulture) };

    /// <summary>Restores <see cref="StateDict"/>'s output and applies the learning rate when attached.</summary>
    public virtual void LoadStateDict(IReadOnlyDictionary<string, string> state)
    {
        if (!state.TryGetValue("position", out var p)) throw new InvalidDataException("schedule state has no 'position'");
        Position = int.Parse(p, CultureInfo.InvariantCulture);
        Apply();
    }

    protected static double ParseDouble(IReadOnlyDictionary<string, string> state, string key) =>
        state.TryGetValue(key, out var s) ? double.Parse(s, CultureInfo.InvariantCulture) : throw new InvalidDataException($"schedule state has no '{key}'");

    protected static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

public sealed class ConstantLR : LrScheduler
{
    public ConstantLR(double lr) : base(lr) { }
    public ConstantLR(IOptimizer optimizer) : base(optimizer.LearningRate) => Attach(optimizer);
    public override double LearningRate(int epoch) => BaseLearningRate;
}

/// <summary>PyTorch's StepLR: lr = base · γ^⌊t / stepSize⌋.</summary>
public sealed class StepLR : LrScheduler
{
    public int StepSize { get; }
    public double Gamma { get; }

    public StepLR(double baseLr, int stepSize, double gamma = 0.1) : base(baseLr)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"step size must be positive, got {stepSize}");
        StepSize = stepSize;
        Gamma = gamma;
    }

    public StepLR(IOptimizer optimizer, int stepSize, double gamma = 0.1) : this(optimizer.LearningRate, stepSize, gamma) => Attach(optimizer);

    public override double LearningRate(int epoch) => BaseLearningRate * Math.Pow(Gamma, Math.Max(0, epoch) / StepSize);
}

/// <summary>PyTorch's MultiStepLR: lr = base · γ^(number of milestones ≤ t).</summary>
public sealed class MultiStepLR : LrScheduler
{
    public IReadOnlyList<int> Milestones { get; }
    public double Gamma { get; }

    public MultiStepLR(double baseLr, IEnumerable<int> milestones, double gamma = 0.1) : base(baseLr)
    {
        var m = milestones.ToArray();
        for (int i = 1; i < m.Length; i++)
            if (m[i] <= m[i - 1]) throw new ArgumentException($"milestones must increase, got {string.Join(", ", m)}", nameof(milestones));
        Milestones = m;
        Gamma = gamma;
    }

    public MultiStepLR(IOptimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : this(optimizer.LearningRate, milestones, gamma) => Attach(optimizer);

    public override double LearningRate(int step) => BaseLearningRate * Math.Pow(Gamma, Milestones.Count(m => m <= step));
}

/// <summary>PyTorch's ExponentialLR: lr = base · γ^t.</summary>
public sealed class ExponentialLR : LrScheduler
{
    public double Gamma { get; }
    public ExponentialLR(double baseLr, double gamma) : base(baseLr) => Gamma = gamma;
    public ExponentialLR(IOptimizer optimizer, double gamma) : this(optimizer.LearningRate, gamma) => Attach(optimizer);
    public override double LearningRate(int step) => BaseLearningRate * Math.Pow(Gamma, step);
}

/// <summary>
/// PyTorch's CosineAnnealingLR (closed form, no restarts): lr = η_min + (base − η_min)·(1 + cos(π·t/T_max))/2,
/// reaching η_min at t = T_max. Past T_max the schedule stays at η_min (PyTorch's would rise again).
/// </summary>
public sealed class CosineAnnealingLR : LrScheduler
{
    public int TMax { get; }
    public double EtaMin { get; }

    public CosineAnnealingLR(double baseLr, int tMax, double etaMin = 0) : base(baseLr)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"T_max must be positive, got {tMax}");
        TMax = tMax;
        EtaMin = etaMin;
    }

    public CosineAnnealingLR(IOptimizer optimizer, int tMax, double etaMin = 0) : this(optimizer.LearningRate, tMax, etaMin) => Attach(optimizer);

    public override double LearningRate(int epoch)
    {
        int e = Math.Clamp(epoch, 0, TMax);
        return EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * e / TMax)) / 2;
    }
}

/// <summary>
/// A linear warm-up in front of any schedule (torch: <c>SequentialLR([LinearLR(start_factor, total_iters=w), after], [w])</c>):
/// lr = base·(s + (1 − s)·t/w) for t &lt; w, then <paramref name="after"/> from its own position 0.
/// </summary>
public sealed class LinearWarmup : LrScheduler
{
    public LrScheduler After { get; }
    public int WarmupSteps { get; }
    public double StartFactor { get; }

    public LinearWarmup(LrScheduler after, int warmupSteps, double startFactor = 0.1) : base((after ?? throw new ArgumentNullException(nameof(after))).BaseLearningRate)
    {
        if (warmupSteps <= 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), $"warm-up steps must be positive, got {warmupSteps}");
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), $"start factor must be in (0, 1], got {startFactor}");
        if (after is ReduceLROnPlateau) throw new ArgumentException("warm-up before ReduceLROnPlateau is not supported (it has no closed form)", nameof(after));
        After = after;
        WarmupSteps = warmupSteps;
        StartFactor = startFactor;
        if (after.Optimizer is { } o) Attach(o);
    }

    public override double LearningRate(int step) =>
        step < WarmupSteps ? BaseLearningRate * (StartFactor + (1 - StartFactor) * step / WarmupSteps) : After.LearningRate(step - WarmupSteps);

    /// <summary>Cosine decay to <paramref name="etaMin"/> after a linear warm-up: <paramref name="totalSteps"/> steps in all.</summary>
    public static LinearWarmup Cosine(IOptimizer optimizer, int warmupSteps, int totalSteps, double etaMin = 0, double startFactor = 0.1) =>
        new LinearWarmup(new CosineAnnealingLR(optimizer.LearningRate, totalSteps - warmupSteps, etaMin), warmupSteps, startFactor).AttachTo(optimizer);

    private LinearWarmup AttachTo(IOptimizer optimizer) { Attach(optimizer); return this; }
}

/// <summary>
/// PyTorch's OneCycleLR (without momentum cycling): from max_lr/div up to max_lr over pct_start of the steps, then down to
/// max_lr/(div·final_div) (cosine or linear annealing); <c>threePhase</c> as in torch. Stepped past totalSteps it throws.
/// </summary>
public sealed class OneCycleLR : LrScheduler
{
    public int TotalSteps { get; }
    public double PctStart { get; }
    public bool Cosine { get; }
    public double DivFactor { get; }
    public double FinalDivFactor { get; }
    public bool ThreePhase { get; }
    private readonly (double EndStep, double Start, double End)[] _phases;

    public OneCycleLR(double maxLr, int totalSteps, double pctStart = 0.3, bool cosine = true, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(maxLr)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"total steps must be positive, got {totalSteps}");
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), $"pct_start must be in [0, 1], got {pctStart}");
        TotalSteps = totalSteps;
        PctStart = pctStart;
        Cosine = cosine;
        DivFactor = divFactor;
        FinalDivFactor = finalDivFactor;
        ThreePhase = threePhase;
        double initial = maxLr / divFactor, min = initial / finalDivFactor;
        _phases = threePhase
            ? [(pctStart * totalSteps - 1, initial, maxLr), (2 * pctStart * totalSteps - 2, maxLr, initial), (totalSteps - 1, initial, min)]
            : [(pctStart * totalSteps - 1, initial, maxLr), (totalSteps - 1, maxLr, min)];
    }

    public OneCycleLR(IOptimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, bool cosine = true, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : this(maxLr, totalSteps, pctStart, cosine, divFactor, finalDivFactor, threePhase) => Attach(optimizer);

    public override double LearningRate(int step)
    {
        if (step > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR stepped {step} times, but its total is {TotalSteps} steps (set totalSteps to epochs × batches per epoch when stepping per batch)");
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var (end, a, b) = _phases[i];
            if (step <= end || i == _phases.Length - 1)
            {
                double pct = (step - start) / (end - start);
                return Cosine ? b + (a - b) / 2.0 * (Math.Cos(Math.PI * pct) + 1) : (b - a) * pct + a;
            }
            start = end;
        }
        throw new InvalidOperationException("unreachable");
    }
}

/// <summary>
/// PyTorch's ReduceLROnPlateau: step it with the monitored metric (usually once per epoch with the validation loss); after
/// more than <c>patience</c> steps without an improvement (relative or absolute <c>threshold</c>), lr ← max(lr·factor, minLr),
/// then <c>cooldown</c> steps pass before counting again.
/// </summary>
public sealed class ReduceLROnPlateau : LrScheduler
{
    public bool Maximize { get; }
    public double Factor { get; }
    public int Patience { get; }
    public double Threshold { get; }
    public bool RelativeThreshold { get; }
    public int Cooldown { get; }
    public double MinLr { get; }
    public double Eps { get; }
    private double _lr, _best;
    private int _bad, _cooldownLeft;

    public ReduceLROnPlateau(double baseLr, bool maximize = false, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        bool relativeThreshold = true, int cooldown = 0, double minLr = 0, double eps = 1e-8) : base(baseLr)
    {
        if (!(factor < 1 && factor >= 0)) throw new ArgumentOutOfRangeException(nameof(factor), $"factor must be in [0, 1), got {factor}");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), $"patience must be >= 0, got {patience}");
        Maximize = maximize; Factor = factor; Patience = patience; Threshold = threshold; RelativeThreshold = relativeThreshold;
        Cooldown = cooldown; MinLr = minLr; Eps = eps;
        _lr = baseLr;
        _best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
    }

    public ReduceLROnPlateau(IOptimizer optimizer, bool maximize = false, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        bool relativeThreshold = true, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : this(optimizer.LearningRate, maximize, factor, patience, threshold, relativeThreshold, cooldown, minLr, eps) => Attach(optimizer);

    public override double Current => _lr;
    public override double LearningRate(int step) => throw new NotSupportedException("ReduceLROnPlateau has no closed form: its learning rate depends on the metrics seen (use Current)");
    public override double Step() => throw new InvalidOperationException("ReduceLROnPlateau steps with the monitored metric: call Step(metric)");

    public override double Step(double metric)
    {
        Position++;
        if (IsBetter(metric)) { _best = metric; _bad = 0; }
        else _bad++;
        if (_cooldownLeft > 0) { _cooldownLeft--; _bad = 0; }
        if (_bad > Patience)
        {
            double next = Math.Max(_lr * Factor, MinLr);
            if (_lr - next > Eps) _lr = next;
            _cooldownLeft = Cooldown;
            _bad = 0;
        }
        Apply();
        return _lr;
    }

    private bool IsBetter(double a)
    {
        if (double.IsNaN(a)) return false;
        return (Maximize, RelativeThreshold) switch
        {
            (false, true) => a < _best * (1 - Threshold),
            (false, false) => a < _best - Threshold,
            (true, true) => a > _best * (Threshold + 1),
            (true, false) => a > _best + Threshold,
        };
    }

    public override Dictionary<string, string> StateDict()
    {
        var d = base.StateDict();
        d["lr"] = Format(_lr); d["best"] = Format(_best);
        d["bad_epochs"] = _bad.ToString(CultureInfo.InvariantCulture); d["cooldown_left"] = _cooldownLeft.ToString(CultureInfo.InvariantCulture);
        return d;
    }

    public override void LoadStateDict(IReadOnlyDictionary<string, string> state)
    {
        _lr = ParseDouble(state, "lr");
        _best = ParseDouble(state, "best");
        _bad = (int)ParseDouble(state, "bad_epochs");
        _cooldownLeft = (int)ParseDouble(state, "cooldown_left");
        base.LoadStateDict(state);
    }
}
