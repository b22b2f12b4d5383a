using System.Runtime.Intrinsics;
using System.Numerics;
using NetDsl.Runtime.Optim;

namespace NetDsl.Runtime;

/// <summary>
/// The parameters of one layer instance, e.g. <c>net.Conv1.Weight</c> ("conv1.weight"), and its buffers (non-learned state
/// such as batchnorm's running statistics; generated layer classes name them, e.g. <c>net.Bn1.RunningMean</c>).
/// </summary>
public class LayerParameters<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Parameter<T>? _weight;
    public string Name { get; }
    /// <summary>"<c>name.weight</c>"; throws for a layer without one (see <see cref="Parameters"/>).</summary>
    public Parameter<T> Weight => _weight ?? throw new InvalidOperationException($"layer {Name} has no weight (its parameters: {string.Join(", ", Parameters.Select(p => p.Name))})");
    public Parameter<T>? Bias { get; }
    /// <summary>All parameters of the layer, in declaration order.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }
    /// <summary>The layer's buffers (non-learned state), in declaration order; empty for most layers.</summary>
    public IReadOnlyList<Buffer<T>> Buffers { get; }

    public LayerParameters(string name, Parameter<T> weight, Parameter<T>? bias)
        : this(name, bias is null ? [weight] : [weight, bias], []) { }

    /// <summary>A layer with any parameters and buffers; <see cref="Weight"/> and <see cref="Bias"/> are the ones named "<c>name.weight</c>" and "<c>name.bias</c>".</summary>
    public LayerParameters(string name, IReadOnlyList<Parameter<T>> parameters, IReadOnlyList<Buffer<T>> buffers)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(buffers);
        Name = name;
        Parameters = parameters;
        Buffers = buffers;
        _weight = parameters.FirstOrDefault(p => p.Name == name + ".weight");
        Bias = parameters.FirstOrDefault(p => p.Name == name + ".bias");
    }

    public override string ToString() => $"{Name}: {string.Join(", ", Parameters.Select(p => p.ToString()).Concat(Buffers.Select(b => b.ToString())))}";
}

/// <summary>
/// What every generated network shares: its device and kernels, parameters in declaration order
/// (torchvision-style names), train/eval mode, the step counter that seeds dropout, and checkpoints.
/// The generated subclass holds the planned buffers and the straight-line Forward/Backward code.
/// </summary>
public abstract partial class NetworkBase<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly List<Parameter<T>> _parameters = new();
    private readonly List<Buffer<T>> _buffers = new();

    protected NetworkBase(Device? device, int seed)
    {
        Device = device ?? Device.Cpu;
        K = Device.Kernels<T>();
        Seed = seed;
    }

    public Device Device { get; }
    /// <summary>The device's kernels (what generated code calls).</summary>
    protected IKernels<T> K { get; }
    public int Seed { get; }

    /// <summary>True in training mode (dropout active), false after <see cref="Eval"/>. New networks train.</summary>
    public bool Training { get; private set; } = true;
    public void Train() { Training = true; ParameterWrites.Bump(); }
    public void Eval() { Training = false; ParameterWrites.Bump(); }

    /// <summary>
    /// Say that parameters or batchnorm statistics were written in a way the runtime does not see (through <c>AsSpan()</c>,
    /// a kernel of your own): eval-mode Forward then refolds batchnorm into the weights (<see cref="ParameterWrites"/>).
    /// </summary>
    public void MarkModified() => ParameterWrites.Bump();

    /// <summary>
    /// A key that moves whenever this network's parameters or buffers may have changed: the process-wide
    /// <see cref="ParameterWrites.Version"/> (optimizer steps, Train/Eval, MarkModified) plus every parameter's and buffer's
    /// <see cref="Tensor{T}.WriteVersion"/> (host writes: loading, initialization, the indexer). All terms only grow, so
    /// equal keys mean nothing was written. Writing an input tensor does not move it.
    /// </summary>
    protected long ParameterWriteKey()
    {
        long v = ParameterWrites.Version;
        foreach (var p in _parameters) v += p.Value.WriteVersion;
        foreach (var b in _buffers) v += b.Value.WriteVersion;
        return v;
    }

    /// <summary>
    /// Training steps run so far (seeds dropout masks, so runs are reproducible). Restore it when resuming from a checkpoint
    /// so the resumed run draws the masks the uninterrupted one would.
    /// </summary>
    public long StepCount { get; set; }

    /// <summary>All parameters, in the order of the .net file.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>
    /// Freezes every parameter whose name is one of <paramref name="prefixes"/> or starts with it and a dot ("layer1" freezes
    /// "layer1.weight", "layer1.bias" and "layer1.0.conv.weight"): optimizers skip frozen parameters and the backward pass
    /// skips the kernels that compute only their gradients. Returns the parameters frozen; a prefix matching none throws.
    /// </summary>
    public IReadOnlyList<Parameter<T>> Freeze(params string[] prefixes) => SetFrozen(true, prefixes);

    /// <summary>Unfreezes the parameters matching <paramref name="prefixes"/> (all parameters when none are given).</summary>
    public IReadOnlyList<Parameter<T>> Unfreeze(params string[] prefixes) => SetFrozen(false, prefixes);

    private IReadOnlyList<Parameter<T>> SetFrozen(bool frozen, string[] prefixes)
    {
        var hit = new List<Parameter<T>>();
        if (prefixes.Length == 0 && !frozen) hit.AddRange(_parameters);
        foreach (var prefix in prefixes)
        {
            var match = _parameters.Where(p => p.Name == prefix || p.Name.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
            if (match.Count == 0)
                throw new ArgumentException($"no parameter is named '{prefix}' or starts with '{prefix}.' (parameters: {string.Join(", ", _parameters.Select(p => p.Name))})", nameof(prefixes));
            hit.AddRange(match);
        }
        foreach (var p in hit) p.Frozen = frozen;
        return hit.Distinct().ToList();
    }

    public Parameter<T> GetParameter(string name) =>
        _parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException($"no parameter named '{name}' (have: {string.Join(", ", _parameters.Select(p => p.Name))})");

    protected Parameter<T> AddParameter(string name, int[] shape, InitKind init, int fanIn)
    {
        var p = Parameter<T>.Create(Device, name, shape, init, fanIn);
        _parameters.Add(p);
        return p;
    }

    /// <summary>All buffers (non-learned state such as batchnorm running statistics), in the order of the .net file.</summary>
    public IReadOnlyList<Buffer<T>> Buffers => _buffers;

    public Buffer<T> GetBuffer(string name) =>
        _buffers.FirstOrDefault(b => b.Name == name) ?? throw new KeyNotFoundException($"no buffer named '{name}' (have: {(_buffers.Count == 0 ? "none" : string.Join(", ", _buffers.Select(b => b.Name)))})");

    /// <summary>A buffer on the network's device, filled with <paramref name="initial"/>.</summary>
    protected Buffer<T> AddBuffer(string name, int[] shape, double initial)
    {
        if (_buffers.Any(b => b.Name == name) || _parameters.Any(p => p.Name == name))
            throw new ArgumentException($"buffer name '{name}' is already used by a parameter or buffer", nameof(name));
        var b = new Buffer<T>(name, Device.Allocate<T>(shape), initial);
        b.Reset();
        _buffers.Add(b);
        return b;
    }

    /// <summary>Sets every buffer back to its initial value (running means 0, running variances 1).</summary>
    public void ResetBuffers()
    {
        foreach (var b in _buffers) b.Reset();
    }

    /// <summary>Initializes every parameter from <see cref="Seed"/> (each from its own stream keyed by its name).</summary>
    protected void InitializeParameters() => Init.Apply(_parameters, (ulong)Seed);

    /// <summary>A dropout seed unique to (seed, step, site).</summary>
    protected ulong DropoutSeed(int site)
    {
        ulong z = (ulong)Seed * 0x9E3779B97F4A7C15UL ^ (ulong)StepCount * 0xBF58476D1CE4E5B9UL ^ (ulong)site * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Index, in the global batch of a data-parallel step, of this process's first sample (0 in a single process). Set by
    /// <c>NetDsl.Distributed.DataParallel</c>: dropout then draws for each local sample the mask that sample gets at its
    /// global position, so R ranks × batch B draw exactly the masks of one process × batch R·B.
    /// </summary>
    public long SampleOffset { get; set; }

    /// <summary>
    /// <see cref="DropoutSeed(int)"/> for a dropout site whose mask stream has <paramref name="blocksPerSample"/> decisions per
    /// sample (elements for dropout, channels for dropout2d, 1 for stochastic depth). With a <see cref="SampleOffset"/> o the
    /// kernels' counter-based stream (decision i is splitmix64(key + i·φ), key = splitmix64(seed ⊕ c)) is shifted to start at
    /// decision o·blocksPerSample: the returned seed is the one whose key is key + o·blocksPerSample·φ (splitmix64 is a
    /// bijection, so it is inverted exactly). With o = 0 it is <see cref="DropoutSeed(int)"/> itself.
    /// </summary>
    protected ulong DropoutSeed(int site, long blocksPerSample)
    {
        ulong seed = DropoutSeed(site);
        if (SampleOffset == 0 || blocksPerSample == 0) return seed;
        const ulong phi = 0x9E3779B97F4A7C15UL, salt = 0x6A09E667F3BCC909UL;   // CpuKernels.DropoutForward's stream constants
        ulong key = SplitMix64Kernel(seed ^ salt) + (ulong)SampleOffset * (ulong)blocksPerSample * phi;
        return InverseSplitMix64Kernel(key) ^ salt;
    }

    /// <summary>The kernels' splitmix64 finalizer with its increment (CpuKernels.SplitMix64).</summary>
    internal static ulong SplitMix64Kernel(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    internal static ulong InverseSplitMix64Kernel(ulong z)
    {
        z = UnXorShift(z, 31);
        z *= InverseOdd(0x94D049BB133111EBUL);
        z = UnXorShift(z, 27);
        z *= InverseOdd(0xBF58476D1CE4E5B9UL);
        z = UnXorShift(z, 30);
        return z - 0x9E3779B97F4A7C15UL;

        static ulong UnXorShift(ulong y, int s)
        {
            ulong x = y;
            for (int i = 0; i < 64 / s + 1; i++) x = y ^ (x >> s);
            return x;
        }
        static ulong InverseOdd(ulong a)
        {
            ulong x = a;                                   // Newton: x = x·(2 − a·x) doubles the correct low bits
            for (int i = 0; i < 6; i++) x *= 2 - a * x;
            return x;
        }
    }

    /// <summary>
    /// The order in which the backward pass makes the parameter gradients final (indices into <see cref="Parameters"/>),
    /// known when the class is generated; a data-parallel layer groups gradients into allreduce buckets in this order.
    /// Null when the class does not say.
    /// </summary>
    public virtual IReadOnlyList<int>? GradientOrder => null;

    /// <summary>
    /// Called by the generated backward pass with a parameter's index as soon as that parameter's gradient is final (no
    /// later kernel of the pass writes it), e.g. to start its bucket's allreduce while the backward pass goes on. Null by default.
    /// </summary>
    public Action<int>? GradientReadyHook { get; set; }

    /// <summary>What the generated backward pass calls when the gradient at <paramref name="position"/> of <see cref="GradientOrder"/> is final.</summary>
    protected void GradientReady(int position)
    {
        var hook = GradientReadyHook;
        if (hook != null) hook(GradientOrder![position]);
    }

    /// <summary>The index of <paramref name="p"/> in <see cref="Parameters"/>.</summary>
    protected int ParameterIndex(Parameter<T> p) => _parameters.IndexOf(p);

    private long _draws;

    /// <summary>
    /// The seed of a noise op (sample_normal, normal_noise, uniform_noise) at <paramref name="site"/>: unique to (network seed,
    /// training step, draw, site), where the draw counts the noise seeds taken so far, so every Forward gets fresh noise and
    /// a run with the same calls in the same order is reproducible. Backward never redraws (the forward saves its noise).
    /// </summary>
    protected ulong NoiseSeed(int site)
    {
        long draw = _draws++;
        ulong z = (ulong)Seed * 0x9E3779B97F4A7C15UL ^ (ulong)StepCount * 0xBF58476D1CE4E5B9UL ^ (ulong)site * 0x94D049BB133111EBUL ^ (ulong)draw * 0xD6E8FEB86659FD93UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The exception for a wrong input tensor: names the input, the expected and the actual shape.</summary>
    protected static ArgumentException InputShapeError(string input, string expected, int[] actual) =>
        new($"input '{input}': expected shape {expected}, got {Tensor<T>.Format(actual)}", input);

    /// <summary>
    /// Opt-in numerical check (off by default; the examples and the fit loop turn it on): after every kernel of Forward,
    /// TrainStep and Backward, its outputs are scanned, and the first NaN or infinity stops the step with a
    /// <see cref="NonFiniteException"/> naming the kernel, its .net lines and ops, and the tensor. Costs one read of every
    /// activation and gradient (measured in docs/architecture.md).
    /// </summary>
    public bool CheckFinite { get; set; }

    /// <summary>Opt-in: float inputs are checked for NaN and infinity before a step runs (a clear error naming the input and element).</summary>
    public bool ValidateInputs { get; set; }

    /// <summary>Called by generated code after a kernel when <see cref="CheckFinite"/> is on.</summary>
    protected void CheckFiniteAfter(string kernel, string tensor, Tensor<T> t)
    {
        if (FindNonFinite(t) is { } at)
            throw new NonFiniteException(GetType().Name, kernel, tensor, Tensor<T>.Format(t.Shape), at.Index, double.CreateTruncating(at.Value));
    }

    /// <summary>
    /// Called by generated code after a kernel when <see cref="CheckFinite"/> is on: <paramref name="check"/> is the call's line
    /// in <see cref="FiniteCheckNames"/> (the kernel and the names of its outputs), then the outputs in that order.
    /// </summary>
    protected void CheckFiniteAfter(int check, Tensor<T> t0) => CheckOutputFinite(check, 0, t0);

    /// <inheritdoc cref="CheckFiniteAfter(int, Tensor{T})"/>
    protected void CheckFiniteAfter(int check, Tensor<T> t0, Tensor<T> t1) { CheckOutputFinite(check, 0, t0); CheckOutputFinite(check, 1, t1); }

    /// <inheritdoc cref="CheckFiniteAfter(int, Tensor{T})"/>
    protected void CheckFiniteAfter(int check, Tensor<T> t0, Tensor<T> t1, Tensor<T> t2) { CheckOutputFinite(check, 0, t0); CheckOutputFinite(check, 1, t1); CheckOutputFinite(check, 2, t2); }

    /// <inheritdoc cref="CheckFiniteAfter(int, Tensor{T})"/>
    protected void CheckFiniteAfter(int check, Tensor<T> t0, Tensor<T> t1, Tensor<T> t2, Tensor<T> t3)
    { CheckOutputFinite(check, 0, t0); CheckOutputFinite(check, 1, t1); CheckOutputFinite(check, 2, t2); CheckOutputFinite(check, 3, t3); }

    /// <inheritdoc cref="CheckFiniteAfter(int, Tensor{T})"/>
    protected void CheckFiniteAfter(int check, params Tensor<T>[] outputs) { for (int i = 0; i < outputs.Length; i++) CheckOutputFinite(check, i, outputs[i]); }

    /// <summary>
    /// Generated: what each <c>CheckFiniteAfter(check, …)</c> call checks, one line per call (from 0): the kernel as its comment
    /// names it, " -> ", and its outputs' names separated by ", ". Read only to word a <see cref="NonFiniteException"/>.
    /// </summary>
    protected virtual string FiniteCheckNames => "";

    private void CheckOutputFinite(int check, int output, Tensor<T> t)
    {
        if (FindNonFinite(t) is not { } at) return;
        var line = FiniteCheckNames.Split('\n') is var lines && check < lines.Length ? lines[check].TrimEnd('\r') : "";
        int arrow = line.LastIndexOf(" -> ", StringComparison.Ordinal);
        string kernel = arrow < 0 ? $"kernel check {check}" : line.Substring(0, arrow);
        var names = arrow < 0 ? Array.Empty<string>() : line.Substring(arrow + 4).Split(", ");
        string tensor = output < names.Length ? names[output] : $"output {output}";
        throw new NonFiniteException(GetType().Name, kernel, tensor, Tensor<T>.Format(t.Shape), at.Index, double.CreateTruncating(at.Value));
    }

    /// <summary>Called by generated code for each float input when <see cref="ValidateInputs"/> is on.</summary>
    protected void CheckInputFinite(string input, Tensor<T> t)
    {
        if (FindNonFinite(t) is { } at)
            throw new ArgumentException($"input '{input}' {Tensor<T>.Format(t.Shape)} holds {Describe(double.CreateTruncating(at.Value))} at {NonFiniteException.FormatIndex(t.Shape, at.Index)} (ValidateInputs is on)", input);
    }

    private static string Describe(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+Infinity" : "-Infinity";

    /// <summary>The first element of <paramref name="t"/> that is NaN or infinite, or null.</summary>
    protected static (int Index, T Value)? FindNonFinite(Tensor<T> t)
    {
        ReadOnlySpan<T> data = t.Device.IsCpu ? t.AsSpan() : t.CopyToHost();
        // vectorized: x - x is 0 for finite x and NaN for NaN and ±infinity
        int i = 0;
        if (Vector512.IsHardwareAccelerated && data.Length >= Vector512<T>.Count)
        {
            for (; i + Vector512<T>.Count <= data.Length; i += Vector512<T>.Count)
            {
                var v = Vector512.Create(data.Slice(i, Vector512<T>.Count));
                var d = v - v;
                if (!Vector512.EqualsAll(d, d)) break;
            }
        }
        else if (Vector256.IsHardwareAccelerated && data.Length >= Vector256<T>.Count)
        {
            for (; i + Vector256<T>.Count <= data.Length; i += Vector256<T>.Count)
            {
                var v = Vector256.Create(data.Slice(i, Vector256<T>.Count));
                var d = v - v;
                if (!Vector256.EqualsAll(d, d)) break;
            }
        }
        for (; i < data.Length; i++)
            if (!T.IsFinite(data[i])) return (i, data[i]);
        return null;
    }

    protected void CheckDevice<TE>(string input, Tensor<TE> t) where TE : unmanaged
    {
        ArgumentNullException.ThrowIfNull(t, input);
        if (!ReferenceEquals(t.Device, Device))
            throw new ArgumentException($"input '{input}' is on {t.Device.Name} but the network runs on {Device.Name}", input);
    }

    /// <summary>Sets every gradient to zero (TrainStep overwrites gradients, so this is only needed for manual accumulation).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) K.Fill(p.Grad, T.Zero);
    }

    /// <summary>The tensors a checkpoint holds: every parameter, then every buffer, by name.</summary>
    private IEnumerable<(string Name, Tensor<T> Tensor)> State() =>
        _parameters.Select(p => (p.Name, p.Value)).Concat(_buffers.Select(b => (b.Name, b.Value)));

    /// <summary>
    /// Saves every parameter and buffer by name in NetDsl's own NDSLCKPT format (see <see cref="NetDsl.Runtime.Training.Checkpoint"/>).
    /// Prefer <see cref="SaveWeights"/> (safetensors, readable by PyTorch); this format stays for files written before.
    /// </summary>
    public void Save(string path) => NetDsl.Runtime.Training.Checkpoint.Save(path, State());
    /// <summary>
    /// Loads parameters and buffers saved by <see cref="Save"/>; a missing, corrupt or mismatched file throws naming the file
    /// and the problem (a network with buffers needs them in the file: running statistics are part of the trained model).
    /// </summary>
    public void Load(string path) => NetDsl.Runtime.Training.Checkpoint.Load(path, State());
}
