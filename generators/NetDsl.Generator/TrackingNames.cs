namespace NetDsl.Generator
{
    /// <summary>Names of the incremental steps (see <c>GeneratorDriverRunResult.Results[i].TrackedSteps</c>).</summary>
    public static class TrackingNames
    {
        /// <summary>AdditionalTexts filtered to *.net, read to (path, text).</summary>
        public const string NetFiles = "NetDsl.NetFiles";
        /// <summary>build_property.RootNamespace (or the default namespace).</summary>
        public const string RootNamespace = "NetDsl.RootNamespace";
        /// <summary>Each .net file combined with the namespace.</summary>
        public const string NetFilesWithNamespace = "NetDsl.NetFilesWithNamespace";
        /// <summary>Each .net file compiled: generated sources and diagnostics.</summary>
        public const string Compiled = "NetDsl.Compiled";

        public static readonly string[] All = { NetFiles, RootNamespace, NetFilesWithNamespace, Compiled };
    }
}
