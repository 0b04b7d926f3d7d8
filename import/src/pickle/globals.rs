//! The allow-list of pickle globals: the only (module, name) pairs a pickle may name.
//!
//! A global on this list is never imported or called. The VM only records which entry
//! was named, and REDUCE/NEWOBJ/BUILD on it build an inert [`Value::Object`]; the
//! readers (numpy arrays, scikit-learn estimators) then interpret those objects by
//! [`Role`]. Any other name is refused with an error naming `module.name`.
//!
//! To support a new estimator, add its class here with [`Role::Estimator`] and teach
//! `sklearn` to read it.
//!
//! [`Value::Object`]: super::Value::Object

/// What an allowed global stands for, as far as the readers are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A scikit-learn estimator class, read by `crate::sklearn`.
    Estimator,
    /// `sklearn.tree._tree.Tree`, the Cython tree structure.
    SklearnTree,
    /// `numpy.core.multiarray._reconstruct`: an empty array, filled by BUILD state.
    NdarrayReconstruct,
    /// `numpy.ndarray`, the class argument of `_reconstruct`.
    Ndarray,
    /// `numpy.core.numeric._frombuffer` (protocol 5 in-band arrays).
    FromBuffer,
    /// `numpy.dtype`.
    Dtype,
    /// `numpy.core.multiarray.scalar`: a numpy scalar from (dtype, raw bytes).
    Scalar,
    /// `joblib.numpy_pickle.NumpyArrayWrapper`: array bytes follow the object in the stream.
    NumpyArrayWrapper,
    /// `copyreg._reconstructor(cls, base, state)`, protocol 0/1 object creation.
    CopyregReconstructor,
    /// `_codecs.encode(str, 'latin1')`: how protocol 2 writes `bytes` objects.
    CodecsEncode,
    /// `builtins.set` / `frozenset` (protocol 2 sets).
    Set,
    /// Anything else that may appear in a tree model's pickle and is only carried along
    /// (`builtins.object`, numpy random states, …).
    Inert,
}

/// One allowed global.
#[derive(Debug, PartialEq, Eq)]
pub struct Global {
    /// The module, as spelled in the pickle.
    pub module: &'static str,
    /// The name inside the module.
    pub name: &'static str,
    /// How readers interpret it.
    pub role: Role,
}

const fn g(module: &'static str, name: &'static str, role: Role) -> Global {
    Global { module, name, role }
}

use Role::*;

/// Every global a pickle may name. numpy 2 renamed `numpy.core` to `numpy._core`;
/// Python 2 era pickles say `__builtin__` and `copy_reg`: both spellings are listed.
pub static ALLOWED: &[Global] = &[
    // scikit-learn tree models.
    g(
        "sklearn.ensemble._forest",
        "RandomForestClassifier",
        Estimator,
    ),
    g(
        "sklearn.ensemble._forest",
        "RandomForestRegressor",
        Estimator,
    ),
    g(
        "sklearn.ensemble._forest",
        "ExtraTreesClassifier",
        Estimator,
    ),
    g("sklearn.ensemble._forest", "ExtraTreesRegressor", Estimator),
    g(
        "sklearn.ensemble.forest",
        "RandomForestClassifier",
        Estimator,
    ),
    g(
        "sklearn.ensemble.forest",
        "RandomForestRegressor",
        Estimator,
    ),
    g("sklearn.ensemble.forest", "ExtraTreesClassifier", Estimator),
    g("sklearn.ensemble.forest", "ExtraTreesRegressor", Estimator),
    g("sklearn.tree._classes", "DecisionTreeClassifier", Estimator),
    g("sklearn.tree._classes", "DecisionTreeRegressor", Estimator),
    g("sklearn.tree._classes", "ExtraTreeClassifier", Estimator),
    g("sklearn.tree._classes", "ExtraTreeRegressor", Estimator),
    g("sklearn.tree.tree", "DecisionTreeClassifier", Estimator),
    g("sklearn.tree.tree", "DecisionTreeRegressor", Estimator),
    g("sklearn.tree.tree", "ExtraTreeClassifier", Estimator),
    g("sklearn.tree.tree", "ExtraTreeRegressor", Estimator),
    g("sklearn.tree._tree", "Tree", SklearnTree),
    // numpy arrays, dtypes and scalars.
    g("numpy.core.multiarray", "_reconstruct", NdarrayReconstruct),
    g("numpy._core.multiarray", "_reconstruct", NdarrayReconstruct),
    g("numpy", "ndarray", Ndarray),
    g("numpy.core.numeric", "_frombuffer", FromBuffer),
    g("numpy._core.numeric", "_frombuffer", FromBuffer),
    g("numpy", "dtype", Dtype),
    g("numpy.core.multiarray", "scalar", Scalar),
    g("numpy._core.multiarray", "scalar", Scalar),
    g("numpy.random._pickle", "__randomstate_ctor", Inert),
    g("numpy.random._pickle", "__bit_generator_ctor", Inert),
    g("numpy.random._pickle", "__generator_ctor", Inert),
    g("numpy.random.mtrand", "RandomState", Inert),
    g("numpy.random._mt19937", "MT19937", Inert),
    // joblib's array container.
    g(
        "joblib.numpy_pickle",
        "NumpyArrayWrapper",
        NumpyArrayWrapper,
    ),
    g(
        "sklearn.externals.joblib.numpy_pickle",
        "NumpyArrayWrapper",
        NumpyArrayWrapper,
    ),
    // Python's own object machinery.
    g("copyreg", "_reconstructor", CopyregReconstructor),
    g("copy_reg", "_reconstructor", CopyregReconstructor),
    g("builtins", "object", Inert),
    g("__builtin__", "object", Inert),
    g("builtins", "set", Set),
    g("__builtin__", "set", Set),
    g("builtins", "frozenset", Set),
    g("__builtin__", "frozenset", Set),
    g("_codecs", "encode", CodecsEncode),
];

/// Looks a global up in [`ALLOWED`].
pub fn lookup(module: &str, name: &str) -> Option<&'static Global> {
    ALLOWED
        .iter()
        .find(|g| g.module == module && g.name == name)
}

impl Global {
    /// `module.name`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}
