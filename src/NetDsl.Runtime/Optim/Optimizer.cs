using System.Numerics;

namespace NetDsl.Runtime.Optim;

/// <summary>
/// Updates a fixed list of parameters from their gradients with the device kernels of each parameter's device
/// (<see cref="IKernels{T}.SgdStep"/>, <see cref="IKernels{T}.AdamStep"/>), so it works on the CPU path and on ILGPU alike.
/// State tensors are allocated once, at construction, on each parameter's device.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private readonly bool _oneDevice;

    public IReadOnlyList<Parameter<T>> Parameters => _parameters;
    /// <summary>Learning rate used by the next <see cref="Step"/>; set it from an <see cref="ILrSchedule"/> each epoch.</summary>
    public double LearningRate { get; set; }
    public double WeightDecay { get; }
    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    protected Optimizer(IEnumerable<Parameter<T>> parameters, double learningRate, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be >= 0, got {learningRate}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weight decay must be >= 0, got {weightDecay}");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _parameters)
            if (!names.Add(p.Name)) throw new ArgumentException($"parameter '{p.Name}' is given twice");
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        _oneDevice = _parameters.Length > 0 && _parameters.All(p => p.Device == _parameters[0].Device);
        Values = _parameters.Select(p => p.Value).ToArray();
        Grads = _parameters.Select(p => p.Grad).ToArray();
    }

    /// <summary>
    /// Applies one update to every parameter from its current gradient: as one fused kernel over the whole group when all
    /// parameters live on one device (<see cref="IKernels{T}.SgdStep(Tensor{T}[], Tensor{T}[], Tensor{T}[], T, T, T, bool)"/>),
    /// else tensor by tensor.
    /// </summary>
    public void Step()
    {
        StepCount++;
        if (_oneDevice)
        {
            UpdateAll(_parameters[0].Device.Kernels<T>(), StepCount);
            return;
        }
        for (int i = 0; i < _parameters.Length; i++)
            Update(i, _parameters[i], _parameters[i].Device.Kernels<T>(), StepCount);
    }

    /// <summary>The values and gradients of the group, in order (built once: fused kernels cache per array instance).</summary>
    protected Tensor<T>[] Values { get; private set; } = null!;
    protected Tensor<T>[] Grads { get; private set; } = null!;

    /// <summary>Updates every parameter with one group kernel; <paramref name="step"/> starts at 1.</summary>
    protected abstract void UpdateAll(IKernels<T> kernels, int step);

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Device.Kernels<T>().Fill(p.Grad, T.Zero);
    }

    /// <summary>Updates parameter <paramref name="index"/>; <paramref name="step"/> starts at 1.</summary>
    protected abstract void Update(int index, Parameter<T> p, IKernels<T> kernels, int step);

    protected static T Cast(double v) => T.CreateChecked(v);

    /// <summary>A zeroed tensor shaped like <paramref name="p"/>'s value on its device.</summary>
    protected static Tensor<T> State(Parameter<T> p)
    {
        var t = p.Device.Allocate<T>(p.Shape);
        Init.Zeros(t);
        return t;
    }
}

/// <summary>
/// PyTorch's SGD (dampening 0): g' = g + wd·θ; v = μ·v + g'; θ −= lr·v, or with Nesterov θ −= lr·(g' + μ·v).
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _velocity;

    public double Momentum { get; }
    public bool Nesterov { get; }

    public Sgd(IEnumerable<Parameter<T>> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr, weightDecay)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be >= 0, got {momentum}");
        if (nesterov && momentum <= 0) throw new ArgumentException("Nesterov momentum requires momentum > 0", nameof(nesterov));
        Momentum = momentum;
        Nesterov = nesterov;
        _velocity = Parameters.Select(State).ToArray();
    }

    /// <summary>The momentum buffer of parameter <paramref name="index"/>.</summary>
    public Tensor<T> Velocity(int index) => _velocity[index];

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step) =>
        kernels.SgdStep(p.Value, p.Grad, _velocity[index], Cast(LearningRate), Cast(Momentum), Cast(WeightDecay), Nesterov);

    protected override void UpdateAll(IKernels<T> kernels, int step) =>
        kernels.SgdStep(Values, Grads, _velocity, Cast(LearningRate), Cast(Momentum), Cast(WeightDecay), Nesterov);
}

/// <summary>
/// PyTorch's Adam (L2 weight decay added to the gradient, not AdamW): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
/// θ −= lr·m̂/(√v̂ + ε) with bias corrections 1−βᵗ.
/// </summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _m, _v;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }

    public Adam(IEnumerable<Parameter<T>> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr, weightDecay)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"beta1 must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"beta2 must be in [0, 1), got {beta2}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        _m = Parameters.Select(State).ToArray();
        _v = Parameters.Select(State).ToArray();
    }

    public Tensor<T> FirstMoment(int index) => _m[index];
    public Tensor<T> SecondMoment(int index) => _v[index];

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step) =>
        kernels.AdamStep(p.Value, p.Grad, _m[index], _v[index], Cast(LearningRate), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(WeightDecay), step);

    protected override void UpdateAll(IKernels<T> kernels, int step) =>
        kernels.AdamStep(Values, Grads, _m, _v, Cast(LearningRate), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(WeightDecay), step);
}
