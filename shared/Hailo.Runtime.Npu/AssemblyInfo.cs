using System.Runtime.CompilerServices;

// The binding's tests check the internal struct mirrors and the loader's probing steps directly.
[assembly: InternalsVisibleTo("Hailo.Runtime.Tests")]
