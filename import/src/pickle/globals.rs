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
    // Gradient boosting (read by `sklearn::boosting`), and the objects they carry.
    g(
        "sklearn.ensemble._gb",
        "GradientBoostingClassifier",
        Estimator,
    ),
    g(
        "sklearn.ensemble._gb",
        "GradientBoostingRegressor",
        Estimator,
    ),
    g(
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
        "HistGradientBoostingClassifier",
        Estimator,
    ),
    g(
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
        "HistGradientBoostingRegressor",
        Estimator,
    ),
    g(
        "sklearn.ensemble._hist_gradient_boosting.predictor",
        "TreePredictor",
        Inert,
    ),
    g(
        "sklearn.ensemble._hist_gradient_boosting.binning",
        "_BinMapper",
        Inert,
    ),
    g("sklearn.dummy", "DummyClassifier", Inert),
    g("sklearn.dummy", "DummyRegressor", Inert),
    g("sklearn.preprocessing._label", "LabelEncoder", Inert),
    // scikit-learn 1.1–1.3 GradientBoosting keeps one of these in `_loss`.
    g("sklearn.ensemble._gb_losses", "BinomialDeviance", Inert),
    g("sklearn.ensemble._gb_losses", "MultinomialDeviance", Inert),
    g("sklearn.ensemble._gb_losses", "ExponentialLoss", Inert),
    g("sklearn.ensemble._gb_losses", "LeastSquaresError", Inert),
    g("sklearn.ensemble._gb_losses", "LeastAbsoluteError", Inert),
    g("sklearn.ensemble._gb_losses", "HuberLossFunction", Inert),
    g("sklearn.ensemble._gb_losses", "QuantileLossFunction", Inert),
    g("sklearn._loss.loss", "HalfBinomialLoss", Inert),
    g("sklearn._loss.loss", "HalfMultinomialLoss", Inert),
    g("sklearn._loss.loss", "HalfSquaredError", Inert),
    g("sklearn._loss.loss", "AbsoluteError", Inert),
    g("sklearn._loss.loss", "PinballLoss", Inert),
    g("sklearn._loss.loss", "HuberLoss", Inert),
    g("sklearn._loss._loss", "CyHalfBinomialLoss", Inert),
    g("sklearn._loss._loss", "CyHalfMultinomialLoss", Inert),
    g(
        "sklearn._loss._loss",
        "__pyx_unpickle_CyHalfMultinomialLoss",
        Inert,
    ),
    g("sklearn._loss._loss", "CyHalfSquaredError", Inert),
    g("sklearn._loss._loss", "CyAbsoluteError", Inert),
    g("sklearn._loss._loss", "CyPinballLoss", Inert),
    g("sklearn._loss._loss", "__pyx_unpickle_CyPinballLoss", Inert),
    g("sklearn._loss._loss", "CyHuberLoss", Inert),
    g("sklearn._loss._loss", "__pyx_unpickle_CyHuberLoss", Inert),
    g("sklearn._loss.link", "Interval", Inert),
    g("sklearn._loss.link", "IdentityLink", Inert),
    g("sklearn._loss.link", "LogitLink", Inert),
    g("sklearn._loss.link", "MultinomialLogit", Inert),
    // HistGradientBoosting with categorical features: the column transformer that
    // re-codes categories (read as data by `sklearn::boosting`), and what its
    // numerical branch holds (`functools.partial(check_array, dtype=[numpy.float64])`,
    // recorded, never called) and its column slices.
    g(
        "sklearn.compose._column_transformer",
        "ColumnTransformer",
        Inert,
    ),
    g("sklearn.preprocessing._encoders", "OrdinalEncoder", Inert),
    g(
        "sklearn.preprocessing._function_transformer",
        "FunctionTransformer",
        Inert,
    ),
    g("sklearn.utils.validation", "check_array", Inert),
    g("functools", "partial", Inert),
    g("numpy", "float64", Inert),
    g("builtins", "slice", Inert),
    g("numpy.random._pcg64", "PCG64", Inert),
    g("numpy.random.bit_generator", "SeedSequence", Inert),
    g(
        "numpy.random.bit_generator",
        "__pyx_unpickle_SeedSequence",
        Inert,
    ),
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
