using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Numerics;

namespace NetDsl.Runtime.Optim;

/// <summary>What a learning-rate schedule needs of an optimizer, whatever its element type.</summary>
public interface IOptimizer
{
    /// <summary>The learning rate of the next step (of the default group; other groups scale with it).</summary>
    double LearningRate { get; set; }
    /// <summary>The learning rate given at construction.</summary>
    double InitialLearningRate { get; }
    /// <summary>Steps taken so far.</summary>
    int StepCount { get; }
}

/// <summary>
/// A parameter group, as in torch.optim: its own learning rate and/or weight decay (null = the optimizer's).
/// A group's learning rate follows the schedule in proportion: lr_group = <see cref="LearningRate"/> × optimizer.LearningRate /
/// optimizer.InitialLearningRate (what torch.optim's multiplicative schedules do per group).
/// </summary>
public sealed class ParamGroup<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public IReadOnlyList<Parameter<T>> Parameters { get; }
    public double? LearningRate { get; }
    public double? WeightDecay { get; }
    public string Name { get; }

    public ParamGroup(IEnumerable<Parameter<T>> parameters, double? lr = null, double? weightDecay = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        if (lr is { } l && !(l >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), $"group learning rate must be >= 0, got {l}");
        if (weightDecay is { } w && !(w >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"group weight decay must be >= 0, got {w}");
        LearningRate = lr;
        WeightDecay = weightDecay;
        Name = name ?? "group";
    }
}

/// <summary>Common parameter groupings.</summary>
public static class ParamGroups
{
    /// <summary>
    /// The common recipe "no weight decay on biases and normalization parameters": tensors of rank ≥ 2 (weights, kernels,
    /// embeddings) get <paramref name="weightDecay"/>, rank-0/1 tensors (biases, batchnorm/layernorm scales and shifts) get 0.
    /// </summary>
    public static ParamGroup<T>[] NoDecayOnBiasAndNorm<T>(IEnumerable<Parameter<T>> parameters, double weightDecay) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var all = parameters.ToArray();
        return [new ParamGroup<T>(all.Where(p => p.Value.Rank >= 2), weightDecay: weightDecay, name: "decay"),
                new ParamGroup<T>(all.Where(p => p.Value.Rank < 2), weightDecay: 0, name: "no_decay")];
    }
}

/// <summary>
/// An optimizer's state as named tensors (host copies, "<c>param.slot</c>", e.g. "conv1.weight.exp_avg") plus string metadata
/// (optimizer type, step count, learning rate…): the shape of a safetensors file. See <see cref="Optimizer{T}.StateDict"/>.
/// </summary>
public sealed class OptimizerState<T>(Dictionary<string, Tensor<T>> tensors, Dictionary<string, string> metadata) where T : unmanaged
{
    public Dictionary<string, Tensor<T>> Tensors { get; } = tensors;
    public Dictionary<string, string> Metadata { get; } = metadata;
}

/// <summary>
/// Updates a fixed list of parameters (in one or more <see cref="ParamGroup{T}"/>s) from their gradients. SGD and Adam use the
/// device kernels (<see cref="IKernels{T}.SgdStep"/>, <see cref="IKernels{T}.AdamStep"/>) as one fused kernel per group when the
/// group lives on one device, so they work on the CPU path and on ILGPU alike; the other updates (SGD with dampening, AMSGrad,
/// RMSprop, Adagrad) run torch.optim's arithmetic on the host (on a GPU tensor through a copy). Before the update, gradients
/// can be clipped by global norm (<see cref="ClipGradNorm"/>) or by value (<see cref="ClipGradValue"/>).
/// </summary>
public abstract class Optimizer<T> : IOptimizer where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private readonly Group[] _groups;

    /// <summary>One parameter group as the optimizer runs it.</summary>
    protected sealed class Group
    {
        public required ParamGroup<T> Spec { get; init; }
        /// <summary>Indices into <see cref="Optimizer{T}.Parameters"/>.</summary>
        public required int[] Indices { get; init; }
        public required Tensor<T>[] Values { get; init; }
        public required Tensor<T>[] Grads { get; init; }
        public required bool OneDevice { get; init; }
        /// <summary>Per-parameter state of this group in the same order (built by subclasses, cached for the fused kernels).</summary>
        public Dictionary<string, Tensor<T>[]> Slots { get; } = new();
        // no lambda on the fast paths: a captured parameter would allocate a closure on every call (steps allocate nothing)
        public Tensor<T>[] Slot(string name, Tensor<T>[] all) => Slots.TryGetValue(name, out var s) ? s : MakeSlot(name, all);

        private Tensor<T>[] MakeSlot(string name, Tensor<T>[] all)
        {
            var s = new Tensor<T>[Indices.Length];
            for (int i = 0; i < s.Length; i++) s[i] = all[Indices[i]];
            return Slots[name] = s;
        }

        private readonly Dictionary<string, Group> _active = new(StringComparer.Ordinal);

        /// <summary>This group without its frozen parameters (itself when none is frozen; cached per frozen set, for the fused kernels).</summary>
        public Group Active(Parameter<T>[] all)
        {
            bool any = false;
            foreach (int i in Indices) if (all[i].Frozen) { any = true; break; }
            return any ? ActiveSubgroup(all) : this;
        }

        private Group ActiveSubgroup(Parameter<T>[] all)
        {
            var key = string.Concat(Indices.Select(i => all[i].Frozen ? '1' : '0'));
            if (_active.TryGetValue(key, out var g)) return g;
            var idx = Indices.Where(i => !all[i].Frozen).ToArray();
            return _active[key] = new Group
            {
                Spec = Spec, Indices = idx, Values = idx.Select(i => all[i].Value).ToArray(), Grads = idx.Select(i => all[i].Grad).ToArray(),
                OneDevice = idx.Length > 0 && idx.All(i => all[i].Device == all[idx[0]].Device),
            };
        }
    }

    public IReadOnlyList<Parameter<T>> Parameters => _parameters;
    /// <summary>The parameter groups (one, holding every parameter, unless the optimizer was built from groups).</summary>
    public IReadOnlyList<ParamGroup<T>> ParamGroups => _groups.Select(g => g.Spec).ToArray();
    /// <summary>Learning rate used by the next <see cref="Step"/>; set it from a schedule (see <see cref="LrScheduler"/>).</summary>
    public double LearningRate { get; set; }
    public double InitialLearningRate { get; }
    public double WeightDecay { get; }
    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>When set, every step first scales all gradients so their global L2 norm is at most this (torch.nn.utils.clip_grad_norm_).</summary>
    public double? ClipGradNorm
    {
        get => _clipNorm;
        set { if (value is { } v && !(v > 0)) throw new ArgumentOutOfRangeException(nameof(ClipGradNorm), $"max norm must be > 0, got {v}"); CheckClipAllowed(value); _clipNorm = value; }
    }
    /// <summary>When set, every step first clamps each gradient element to ±this (torch.nn.utils.clip_grad_value_).</summary>
    public double? ClipGradValue
    {
        get => _clipValue;
        set { if (value is { } v && !(v > 0)) throw new ArgumentOutOfRangeException(nameof(ClipGradValue), $"clip value must be > 0, got {v}"); CheckClipAllowed(value); _clipValue = value; }
    }
    private double? _clipNorm, _clipValue;
    /// <summary>The global gradient norm before clipping, from the last step with <see cref="ClipGradNorm"/> (NaN otherwise).</summary>
    public double LastGradNorm { get; private set; } = double.NaN;

    private void CheckClipAllowed(double? value)
    {
        if (value is not null && AccumulatesGradients)
            throw new InvalidOperationException("gradient clipping needs the gradients, but this optimizer keeps its momentum in the gradient buffers (stateInGradients: true)");
    }

    protected Optimizer(IEnumerable<Parameter<T>> parameters, double learningRate, double weightDecay)
        : this([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], learningRate, weightDecay) { }

    protected Optimizer(IEnumerable<ParamGroup<T>> groups, double learningRate, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var specs = groups.ToArray();
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be >= 0, got {learningRate}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weight decay must be >= 0, got {weightDecay}");
        _parameters = specs.SelectMany(g => g.Parameters).ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _parameters)
            if (!names.Add(p.Name)) throw new ArgumentException($"parameter '{p.Name}' is given twice");
        LearningRate = learningRate;
        InitialLearningRate = learningRate;
        WeightDecay = weightDecay;
        Values = _parameters.Select(p => p.Value).ToArray();
        Grads = _parameters.Select(p => p.Grad).ToArray();
        int next = 0;
        _groups = specs.Select(s =>
        {
            var idx = Enumerable.Range(next, s.Parameters.Count).ToArray();
            next += idx.Length;
            bool oneDevice = idx.Length > 0 && idx.All(i => _parameters[i].Device == _parameters[idx[0]].Device);
            // a single group reuses the optimizer-wide arrays (the fused kernels cache per array instance)
            return specs.Length == 1
                ? new Group { Spec = s, Indices = idx, Values = Values, Grads = Grads, OneDevice = oneDevice }
                : new Group { Spec = s, Indices = idx, Values = idx.Select(i => Values[i]).ToArray(), Grads = idx.Select(i => Grads[i]).ToArray(), OneDevice = oneDevice };
        }).ToArray();
    }

    /// <summary>The learning rate group <paramref name="group"/> uses at the next step.</summary>
    public double GroupLearningRate(int group)
    {
        var l = _groups[group].Spec.LearningRate;
        if (l is null) return LearningRate;
        return InitialLearningRate > 0 ? l.Value * (LearningRate / InitialLearningRate) : l.Value;
    }

    /// <summary>The weight decay of group <paramref name="group"/>.</summary>
    public double GroupWeightDecay(int group) => _groups[group].Spec.WeightDecay ?? WeightDecay;

    /// <summary>The weight decay of parameter <paramref name="index"/> (its group's).</summary>
    protected double WeightDecayOf(int index)
    {
        for (int g = 0; g < _groups.Length; g++)
            if (Array.IndexOf(_groups[g].Indices, index) >= 0) return GroupWeightDecay(g);
        return WeightDecay;
    }

    protected IReadOnlyList<Group> Groups => _groups;

    /// <summary>
    /// Clips the gradients if asked, then applies one update to every parameter from its gradient: per group as one fused
    /// kernel when the group lives on one device, else tensor by tensor.
    /// </summary>
    public void Step()
    {
        if (_clipValue is not null || _clipNorm is not null)
        {
            IReadOnlyList<Parameter<T>> live = _parameters.Any(p => p.Frozen) ? _parameters.Where(p => !p.Frozen).ToArray() : _parameters;
            if (_clipValue is { } cv) GradClip.ClipValue(live, cv);
            if (_clipNorm is { } cn) LastGradNorm = GradClip.ClipNorm(live, cn);
        }
        StepCount++;
        ParameterWrites.Bump();   // folded-batchnorm caches of eval-mode Forward are stale
        BeforeStep();
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g].Active(_parameters); // frozen parameters are skipped
            if (group.Indices.Length == 0) continue;
            double lr = GroupLearningRate(g), wd = GroupWeightDecay(g);
            if (group.OneDevice) UpdateGroup(group, _parameters[group.Indices[0]].Device.Kernels<T>(), StepCount, lr, wd);
            else
                foreach (int i in group.Indices)
                    Update(i, _parameters[i], _parameters[i].Device.Kernels<T>(), StepCount, lr, wd);
        }
    }

    /// <summary>Called once per <see cref="Step"/> before the updates.</summary>
    protected virtual void BeforeStep() { }

    /// <summary>The values and gradients of all parameters, in order (built once: fused kernels cache per array instance).</summary>
    protected Tensor<T>[] Values { get; }
    protected Tensor<T>[] Grads { get; }

    /// <summary>Updates every parameter of <paramref name="group"/> (all on one device); <paramref name="step"/> starts at 1.</summary>
    protected virtual void UpdateGroup(Group group, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        foreach (int i in group.Indices) Update(i, _parameters[i], kernels, step, lr, weightDecay);
    }

    /// <summary>Updates parameter <paramref name="index"/>; <paramref name="step"/> starts at 1.</summary>
    protected abstract void Update(int index, Parameter<T> p, IKernels<T> kernels, int step, double lr, double weightDecay);

    /// <summary>
    /// True when this optimizer keeps its state in the gradient buffers (<see cref="Sgd{T}"/> with <c>stateInGradients</c>):
    /// a generated network's <c>TrainStep(…, optimizer)</c> then calls <see cref="BeforeBackward"/>, runs a backward pass that
    /// adds into <c>Parameter.Grad</c>, and steps. Such an optimizer must be driven that way.
    /// </summary>
    public virtual bool AccumulatesGradients => false;

    /// <summary>Prepares the gradient buffers for an accumulating backward pass (only for <see cref="AccumulatesGradients"/>).</summary>
    public virtual void BeforeBackward() { }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Device.Kernels<T>().Fill(p.Grad, T.Zero);
    }

    // ---- state ----

    /// <summary>The per-parameter state slots (e.g. "exp_avg" → one tensor per parameter, null where a parameter has none).</summary>
    protected abstract IEnumerable<(string Slot, Tensor<T>?[] Tensors)> StateSlots();

    /// <summary>Extra scalar state to save (besides type, step and learning rate).</summary>
    protected virtual void SaveExtra(Dictionary<string, string> metadata) { }
    protected virtual void LoadExtra(IReadOnlyDictionary<string, string> metadata) { }

    /// <summary>
    /// A copy of the optimizer's state: tensors "<c>param.slot</c>" (host copies) and metadata "optimizer" (type), "step",
    /// "lr" (current learning rate). <see cref="LoadStateDict"/> on an optimizer of the same type over parameters of the same
    /// names and shapes continues bit for bit where this one stopped.
    /// </summary>
    public OptimizerState<T> StateDict()
    {
        var tensors = new Dictionary<string, Tensor<T>>(StringComparer.Ordinal);
        foreach (var (slot, ts) in StateSlots())
            for (int i = 0; i < ts.Length; i++)
                if (ts[i] is { } t) tensors[$"{_parameters[i].Name}.{slot}"] = Tensor<T>.FromArray(t.CopyToHost(), t.Shape);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["optimizer"] = GetType().Name.Split('`')[0],
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture),
            ["lr"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
        };
        SaveExtra(meta);
        return new OptimizerState<T>(tensors, meta);
    }

    /// <summary>Restores state saved by <see cref="StateDict"/>; throws naming what does not match (type, missing tensor, shape).</summary>
    public void LoadStateDict(OptimizerState<T> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string type = GetType().Name.Split('`')[0];
        if (!state.Metadata.TryGetValue("optimizer", out var saved) || saved != type)
            throw new InvalidDataException($"optimizer state is for '{saved ?? "(no type)"}', not {type}");
        var expected = new List<(string Name, Tensor<T> Target)>();
        foreach (var (slot, ts) in StateSlots())
            for (int i = 0; i < ts.Length; i++)
                if (ts[i] is { } t) expected.Add(($"{_parameters[i].Name}.{slot}", t));
        foreach (var (name, target) in expected)
        {
            if (!state.Tensors.TryGetValue(name, out var src)) throw new InvalidDataException($"optimizer state has no tensor '{name}'");
            if (!src.Shape.AsSpan().SequenceEqual(target.Shape))
                throw new InvalidDataException($"optimizer state tensor '{name}' has shape {Tensor<T>.Format(src.Shape)}, the parameter's is {Tensor<T>.Format(target.Shape)}");
        }
        var unknown = state.Tensors.Keys.Except(expected.Select(e => e.Name)).ToList();
        if (unknown.Count > 0) throw new InvalidDataException($"optimizer state has tensors this optimizer does not know: {string.Join(", ", unknown.Take(5))}");
        foreach (var (name, target) in expected) target.CopyFromHost(state.Tensors[name].CopyToHost());
        StepCount = int.Parse(state.Metadata["step"], CultureInfo.InvariantCulture);
        LearningRate = double.Parse(state.Metadata["lr"], CultureInfo.InvariantCulture);
        LoadExtra(state.Metadata);
    }

    protected static T Cast(double v) => T.CreateChecked(v);

    /// <summary>A zeroed tensor shaped like <paramref name="p"/>'s value on its device.</summary>
    protected static Tensor<T> State(Parameter<T> p)
    {
        var t = p.Device.Allocate<T>(p.Shape);
        Init.Zeros(t);
        return t;
    }

    /// <summary>A host update over a parameter, its gradient and up to three state tensors of the same length.</summary>
    protected delegate void HostUpdate(Span<T> p, Span<T> g, Span<T> s1, Span<T> s2, Span<T> s3);

    /// <summary>Runs <paramref name="body"/> on host memory: in place for CPU tensors, through copies for device tensors.</summary>
    protected static void OnHost(Parameter<T> p, Tensor<T>? s1, Tensor<T>? s2, Tensor<T>? s3, HostUpdate body)
    {
        if (p.Device.IsCpu)
        {
            body(p.Value.AsSpan(), p.Grad.AsSpan(), s1 is null ? default : s1.AsSpan(), s2 is null ? default : s2.AsSpan(), s3 is null ? default : s3.AsSpan());
            return;
        }
        var hp = p.Value.CopyToHost();
        var hg = p.Grad.CopyToHost();
        var h1 = s1?.CopyToHost();
        var h2 = s2?.CopyToHost();
        var h3 = s3?.CopyToHost();
        body(hp, hg, h1, h2, h3);
        p.Value.CopyFromHost(hp);
        if (h1 is not null) s1!.CopyFromHost(h1);
        if (h2 is not null) s2!.CopyFromHost(h2);
        if (h3 is not null) s3!.CopyFromHost(h3);
    }
}

/// <summary>Gradient clipping as in torch.nn.utils.</summary>
public static class GradClip
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_: total = ‖(‖g₁‖, ‖g₂‖, …)‖₂; every gradient is multiplied by min(1, maxNorm/(total + 1e-6)).
    /// Returns the total norm before clipping (NaN/∞ if a gradient is not finite; the gradients then become non-finite too).
    /// </summary>
    public static double ClipNorm<T>(IReadOnlyList<Parameter<T>> parameters, double maxNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // each tensor's norm is accumulated in double and rounded to T (like torch's CPU norm), the total from those
        double sumSq = 0;
        foreach (var p in parameters)
        {
            ReadOnlySpan<T> g = p.Device.IsCpu ? p.Grad.AsSpan() : p.Grad.CopyToHost();
            double s = 0;
            foreach (var x in g) { double d = double.CreateTruncating(x); s += d * d; }
            double n = double.CreateTruncating(T.CreateTruncating(Math.Sqrt(s)));
            sumSq += n * n;
        }
        T total = T.CreateTruncating(Math.Sqrt(sumSq));
        T coef = T.CreateTruncating(maxNorm) / (total + T.CreateTruncating(1e-6));
        if (coef < T.One)
            foreach (var p in parameters) p.Device.Kernels<T>().Map(p.Grad, p.Grad, new ScaleMap<T>(coef), new ScaleMapGpu(float.CreateTruncating(coef)));
        return double.CreateTruncating(total);
    }

    /// <summary>torch.nn.utils.clip_grad_value_: clamps every gradient element to [−clip, clip].</summary>
    public static void ClipValue<T>(IReadOnlyList<Parameter<T>> parameters, double clip) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T c = T.CreateTruncating(clip);
        foreach (var p in parameters) p.Device.Kernels<T>().Map(p.Grad, p.Grad, new ClampMap<T>(-c, c), new ClampMapGpu(-(float)clip, (float)clip));
    }
}

/// <summary>y = s·x.</summary>
public readonly struct ScaleMap<T>(T scale) : IMap1<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _s = scale;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public T Apply(T a) => _s * a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Apply(Vector256<T> a) => Vector256.Create(_s) * a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Apply(Vector512<T> a) => Vector512.Create(_s) * a;
}

/// <summary><see cref="ScaleMap{T}"/> on ILGPU.</summary>
public readonly struct ScaleMapGpu(float scale) : IGpuMap1
{
    private readonly float _s = scale;
    public float Apply(float a) => _s * a;
}

/// <summary>y = clamp(x, lo, hi) (NaN stays NaN).</summary>
public readonly struct ClampMap<T>(T lo, T hi) : IMap1<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _lo = lo, _hi = hi;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public T Apply(T a) => T.IsNaN(a) ? a : a < _lo ? _lo : a > _hi ? _hi : a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Apply(Vector256<T> a) => Vector256.ConditionalSelect(Vector256.Equals(a, a), Vector256.Min(Vector256.Max(a, Vector256.Create(_lo)), Vector256.Create(_hi)), a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Apply(Vector512<T> a) => Vector512.ConditionalSelect(Vector512.Equals(a, a), Vector512.Min(Vector512.Max(a, Vector512.Create(_lo)), Vector512.Create(_hi)), a);
}

/// <summary><see cref="ClampMap{T}"/> on ILGPU.</summary>
public readonly struct ClampMapGpu(float lo, float hi) : IGpuMap1
{
    private readonly float _lo = lo, _hi = hi;
    public float Apply(float a) => a < _lo ? _lo : a > _hi ? _hi : a;
}

/// <summary>
/// PyTorch's SGD: g' = g + wd·θ; v = g' at the first step, then v = μ·v + (1 − dampening)·g'; θ −= lr·v, or with Nesterov
/// θ −= lr·(g' + μ·v). Without dampening it runs the fused device kernel.
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _velocity;
    private bool _prepared, _started;

    public double Momentum { get; }
    public double Dampening { get; }
    public bool Nesterov { get; }
    /// <summary>True when the momentum buffer is each parameter's gradient buffer (see the constructor).</summary>
    public bool StateInGradients { get; }

    /// <summary>
    /// PyTorch's SGD: g' = g + wd·θ; v = μ·v + (1 − dampening)·g' (v = g' at the first step); θ −= lr·v (or lr·(g' + μ·v) with Nesterov).
    /// With <paramref name="stateInGradients"/> (momentum &gt; 0, no Nesterov, no dampening) the velocity lives in <c>Parameter.Grad</c> and no
    /// momentum buffer is allocated: before each backward pass the gradient buffer becomes μ·v + wd·θ, the network's backward
    /// adds g into it (so it holds v), and the step is θ −= lr·v — the same arithmetic, one parameter-sized buffer less per
    /// parameter. Drive it with the generated <c>TrainStep(…, optimizer)</c>; after a step <c>Parameter.Grad</c> holds the velocity.
    /// </summary>
    public Sgd(IEnumerable<Parameter<T>> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false, bool stateInGradients = false, double dampening = 0)
        : this([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], lr, momentum, weightDecay, nesterov, stateInGradients, dampening) { }

    /// <summary>SGD over parameter groups, each with its own learning rate and/or weight decay.</summary>
    public Sgd(IEnumerable<ParamGroup<T>> groups, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false, bool stateInGradients = false, double dampening = 0)
        : base(groups, lr, weightDecay)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be >= 0, got {momentum}");
        if (!(dampening >= 0 && dampening <= 1)) throw new ArgumentOutOfRangeException(nameof(dampening), $"dampening must be in [0, 1], got {dampening}");
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum requires momentum > 0 and zero dampening", nameof(nesterov));
        if (stateInGradients && (momentum <= 0 || nesterov || dampening != 0))
            throw new ArgumentException($"stateInGradients keeps the momentum buffer in the gradients: it needs momentum > 0, no Nesterov and no dampening (got momentum {momentum}, nesterov {nesterov}, dampening {dampening})", nameof(stateInGradients));
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        StateInGradients = stateInGradients;
        _velocity = stateInGradients ? Grads : Parameters.Select(State).ToArray();
    }

    public override bool AccumulatesGradients => StateInGradients;

    /// <summary>With <see cref="StateInGradients"/>: grad = μ·grad + wd·θ (grad = wd·θ before the first step: v starts at 0).</summary>
    public override void BeforeBackward()
    {
        if (!StateInGradients) return;
        var mu = Cast(_started ? Momentum : 0);
        for (int i = 0; i < Grads.Length; i++)
        {
            var k = Parameters[i].Device.Kernels<T>();
            double wd = WeightDecayOf(i);
            if (!_started && wd == 0) k.Fill(Grads[i], T.Zero);
            else k.Map(Grads[i], Values[i], Grads[i], new MomentumDecayMap<T>(mu, Cast(wd)), new MomentumDecayMapGpu(float.CreateChecked(mu), (float)wd));
        }
        _prepared = true;
    }

    /// <summary>The momentum buffer of parameter <paramref name="index"/> (its gradient buffer with <see cref="StateInGradients"/>).</summary>
    public Tensor<T> Velocity(int index) => _velocity[index];

    private void CheckPrepared()
    {
        if (!StateInGradients) return;
        if (!_prepared)
            throw new InvalidOperationException("this Sgd keeps its momentum in the gradients (stateInGradients: true): step it through the network's TrainStep(…, optimizer), which prepares the gradients and accumulates into them");
        _prepared = false;
        _started = true;
    }

    private bool Fused => Dampening == 0;

    // with the state in the gradients the buffer already holds v = μ·v + g': the step is θ −= lr·v (SgdStep with μ = 0, wd = 0 and
    // the gradient as its own velocity rewrites v unchanged)
    protected override void BeforeStep() => CheckPrepared();

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        if (StateInGradients) kernels.SgdStep(p.Value, p.Grad, p.Grad, Cast(lr), T.Zero, T.Zero, false);
        else if (Fused) kernels.SgdStep(p.Value, p.Grad, _velocity[index], Cast(lr), Cast(Momentum), Cast(weightDecay), Nesterov);
        else HostStep(p, _velocity[index], step, lr, weightDecay);
    }

    protected override void UpdateGroup(Group group, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        if (StateInGradients) kernels.SgdStep(group.Values, group.Grads, group.Grads, Cast(lr), T.Zero, T.Zero, false);
        else if (Fused) kernels.SgdStep(group.Values, group.Grads, group.Slot("velocity", _velocity), Cast(lr), Cast(Momentum), Cast(weightDecay), Nesterov);
        else foreach (int i in group.Indices) HostStep(Parameters[i], _velocity[i], step, lr, weightDecay);
    }

    private void HostStep(Parameter<T> p, Tensor<T> velocity, int step, double lr, double weightDecay)
    {
        T wd = Cast(weightDecay), mu = Cast(Momentum), damp = Cast(1 - Dampening), nlr = Cast(-lr);
        bool first = step == 1, momentum = Momentum != 0;
        OnHost(p, velocity, null, null, (ps, gs, vs, _, _) =>
        {
            for (int i = 0; i < ps.Length; i++)
            {
                T g = gs[i] + wd * ps[i];
                if (momentum)
                {
                    T v = first ? g : vs[i] * mu + damp * g;
                    vs[i] = v;
                    g = v;
                }
                ps[i] = ps[i] + nlr * g;
            }
        });
    }

    protected override IEnumerable<(string Slot, Tensor<T>?[] Tensors)> StateSlots()
    {
        if (Momentum != 0) yield return ("momentum_buffer", _velocity);
    }

    protected override void SaveExtra(Dictionary<string, string> metadata) => metadata["started"] = _started ? "1" : "0";
    protected override void LoadExtra(IReadOnlyDictionary<string, string> metadata) => _started = metadata.TryGetValue("started", out var s) && s == "1";
}

/// <summary>μ·g + wd·θ: the gradient buffer of <see cref="Sgd{T}"/> with its state in the gradients, before a backward pass.</summary>
public readonly struct MomentumDecayMap<T>(T momentum, T weightDecay) : IMap2<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _mu = momentum, _wd = weightDecay;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public T Apply(T g, T p) => _mu * g + _wd * p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Apply(Vector256<T> g, Vector256<T> p) => Vector256.Create(_mu) * g + Vector256.Create(_wd) * p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Apply(Vector512<T> g, Vector512<T> p) => Vector512.Create(_mu) * g + Vector512.Create(_wd) * p;
}

/// <summary><see cref="MomentumDecayMap{T}"/> on ILGPU.</summary>
public readonly struct MomentumDecayMapGpu(float momentum, float weightDecay) : IGpuMap2
{
    private readonly float _mu = momentum, _wd = weightDecay;
    public float Apply(float g, float p) => _mu * g + _wd * p;
}

/// <summary>
/// Adam and AdamW (torch.optim): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; θ −= lr·m̂/(√v̂ + ε) with bias corrections 1−βᵗ;
/// with AMSGrad the running maximum of v is used. Adam adds L2 decay to the gradient; AdamW first shrinks θ by (1 − lr·wd).
/// </summary>
public abstract class AdamBase<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _m, _v;
    private readonly Tensor<T>[]? _vMax;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public bool AmsGrad { get; }
    /// <summary>True for AdamW: decay is θ ← θ·(1 − lr·wd) before the update, not added to the gradient.</summary>
    public bool DecoupledWeightDecay { get; }

    private protected AdamBase(IEnumerable<ParamGroup<T>> groups, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(groups, lr, weightDecay)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"beta1 must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"beta2 must be in [0, 1), got {beta2}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        AmsGrad = amsgrad;
        DecoupledWeightDecay = decoupled;
        _m = Parameters.Select(State).ToArray();
        _v = Parameters.Select(State).ToArray();
        if (amsgrad) _vMax = Parameters.Select(State).ToArray();
    }

    public Tensor<T> FirstMoment(int index) => _m[index];
    public Tensor<T> SecondMoment(int index) => _v[index];

    private void Decay(Tensor<T> value, IKernels<T> kernels, double lr, double wd)
    {
        if (wd == 0) return;
        double s = 1 - lr * wd;
        kernels.Map(value, value, new ScaleMap<T>(Cast(s)), new ScaleMapGpu((float)s));
    }

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        if (DecoupledWeightDecay) Decay(p.Value, kernels, lr, weightDecay);
        double l2 = DecoupledWeightDecay ? 0 : weightDecay;
        if (AmsGrad) HostStep(p, _m[index], _v[index], _vMax![index], step, lr, l2);
        else kernels.AdamStep(p.Value, p.Grad, _m[index], _v[index], Cast(lr), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(l2), step);
    }

    protected override void UpdateGroup(Group group, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        if (DecoupledWeightDecay) foreach (var v in group.Values) Decay(v, kernels, lr, weightDecay);
        double l2 = DecoupledWeightDecay ? 0 : weightDecay;
        if (AmsGrad)
            foreach (int i in group.Indices) HostStep(Parameters[i], _m[i], _v[i], _vMax![i], step, lr, l2);
        else
            kernels.AdamStep(group.Values, group.Grads, group.Slot("m", _m), group.Slot("v", _v), Cast(lr), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(l2), step);
    }

    // torch.optim.Adam's single-tensor arithmetic, AMSGrad form
    private void HostStep(Parameter<T> p, Tensor<T> m, Tensor<T> v, Tensor<T> vMax, int step, double lr, double l2)
    {
        T wd = Cast(l2), b1 = Cast(Beta1), b2 = Cast(Beta2), omb1 = Cast(1 - Beta1), omb2 = Cast(1 - Beta2), eps = Cast(Epsilon);
        double bc1 = 1 - Math.Pow(Beta1, step), bc2 = 1 - Math.Pow(Beta2, step);
        T negStepSize = Cast(-(lr / bc1)), bc2Sqrt = Cast(Math.Sqrt(bc2));
        OnHost(p, m, v, vMax, (ps, gs, ms, vs, xs) =>
        {
            for (int i = 0; i < ps.Length; i++)
            {
                T g = gs[i] + wd * ps[i];
                T mi = ms[i] * b1 + omb1 * g;
                T vi = vs[i] * b2 + omb2 * g * g;
                ms[i] = mi;
                vs[i] = vi;
                T x = T.Max(xs[i], vi);
                xs[i] = x;
                T denom = T.Sqrt(x) / bc2Sqrt + eps;
                ps[i] = ps[i] + negStepSize * (mi / denom);
            }
        });
    }

    protected override IEnumerable<(string Slot, Tensor<T>?[] Tensors)> StateSlots()
    {
        yield return ("exp_avg", _m);
        yield return ("exp_avg_sq", _v);
        if (_vMax is not null) yield return ("max_exp_avg_sq", _vMax);
    }
}

/// <summary>
/// PyTorch's Adam (L2 weight decay added to the gradient, not AdamW): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
/// θ −= lr·m̂/(√v̂ + ε) with bias corrections 1−βᵗ (AMSGrad: the running maximum of v in the denominator).
/// </summary>
public sealed class Adam<T> : AdamBase<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public Adam(IEnumerable<Parameter<T>> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : base([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false) { }

    public Adam(IEnumerable<ParamGroup<T>> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false) { }
}

/// <summary>PyTorch's AdamW: θ ← θ·(1 − lr·wd), then Adam without L2 decay (default weight decay 0.01, as torch).</summary>
public sealed class AdamW<T> : AdamBase<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public AdamW(IEnumerable<Parameter<T>> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true) { }

    public AdamW(IEnumerable<ParamGroup<T>> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true) { }
}

/// <summary>
/// PyTorch's RMSprop: g' = g + wd·θ; s = αs + (1−α)g'²; centered: a = αa + (1−α)g', d = √(s − a²) + ε, else d = √s + ε;
/// with momentum b = μb + g'/d, θ −= lr·b; else θ −= lr·g'/d. Runs on the host.
/// </summary>
public sealed class RmsProp<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _square;
    private readonly Tensor<T>[]? _gradAvg, _buf;

    public double Alpha { get; }
    public double Epsilon { get; }
    public double Momentum { get; }
    public bool Centered { get; }

    public RmsProp(IEnumerable<Parameter<T>> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : this([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], lr, alpha, eps, weightDecay, momentum, centered) { }

    public RmsProp(IEnumerable<ParamGroup<T>> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(groups, lr, weightDecay)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1], got {alpha}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}");
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be >= 0, got {momentum}");
        Alpha = alpha;
        Epsilon = eps;
        Momentum = momentum;
        Centered = centered;
        _square = Parameters.Select(State).ToArray();
        if (centered) _gradAvg = Parameters.Select(State).ToArray();
        if (momentum > 0) _buf = Parameters.Select(State).ToArray();
    }

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        T wd = Cast(weightDecay), a = Cast(Alpha), oma = Cast(1 - Alpha), eps = Cast(Epsilon), mu = Cast(Momentum), nlr = Cast(-lr);
        bool centered = Centered, momentum = Momentum > 0;
        OnHost(p, _square[index], _gradAvg?[index], _buf?[index], (ps, gs, ss, avs, bs) =>
        {
            for (int i = 0; i < ps.Length; i++)
            {
                T g = gs[i] + wd * ps[i];
                T s = ss[i] * a + oma * g * g;
                ss[i] = s;
                T d;
                if (centered)
                {
                    T av = avs[i] * a + oma * g;
                    avs[i] = av;
                    d = T.Sqrt(s + -T.One * av * av);
                }
                else d = T.Sqrt(s);
                d += eps;
                if (momentum)
                {
                    T b = bs[i] * mu + g / d;
                    bs[i] = b;
                    ps[i] = ps[i] + nlr * b;
                }
                else ps[i] = ps[i] + nlr * (g / d);
            }
        });
    }

    protected override IEnumerable<(string Slot, Tensor<T>?[] Tensors)> StateSlots()
    {
        yield return ("square_avg", _square);
        if (_gradAvg is not null) yield return ("grad_avg", _gradAvg);
        if (_buf is not null) yield return ("momentum_buffer", _buf);
    }
}

/// <summary>
/// PyTorch's Adagrad: g' = g + wd·θ; s += g'²; θ −= clr·g'/(√s + ε) with clr = lr/(1 + (t−1)·lr_decay); s starts at
/// <c>initialAccumulator</c>. Runs on the host.
/// </summary>
public sealed class Adagrad<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _sum;

    public double LrDecay { get; }
    public double Epsilon { get; }
    public double InitialAccumulator { get; }

    public Adagrad(IEnumerable<Parameter<T>> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulator = 0, double eps = 1e-10)
        : this([new ParamGroup<T>(parameters ?? throw new ArgumentNullException(nameof(parameters)), name: "default")], lr, lrDecay, weightDecay, initialAccumulator, eps) { }

    public Adagrad(IEnumerable<ParamGroup<T>> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulator = 0, double eps = 1e-10)
        : base(groups, lr, weightDecay)
    {
        if (!(lrDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(lrDecay), $"lr decay must be >= 0, got {lrDecay}");
        if (!(initialAccumulator >= 0)) throw new ArgumentOutOfRangeException(nameof(initialAccumulator), $"initial accumulator must be >= 0, got {initialAccumulator}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}");
        LrDecay = lrDecay;
        Epsilon = eps;
        InitialAccumulator = initialAccumulator;
        _sum = Parameters.Select(p =>
        {
            var t = p.Device.Allocate<T>(p.Shape);
            p.Device.Kernels<T>().Fill(t, Cast(initialAccumulator));
            return t;
        }).ToArray();
    }

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step, double lr, double weightDecay)
    {
        T wd = Cast(weightDecay), eps = Cast(Epsilon), nclr = Cast(-(lr / (1 + (step - 1) * LrDecay)));
        OnHost(p, _sum[index], null, null, (ps, gs, ss, _, _) =>
        {
            for (int i = 0; i < ps.Length; i++)
            {
                T g = gs[i] + wd * ps[i];
                T s = ss[i] + g * g;
                ss[i] = s;
                ps[i] = ps[i] + nclr * (g / (T.Sqrt(s) + eps));
            }
        });
    }

    protected override IEnumerable<(string Slot, Tensor<T>?[] Tensors)> StateSlots()
    {
        yield return ("sum", _sum);
    }
}
