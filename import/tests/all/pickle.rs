//! The pickle VM and the numpy readers on handcrafted streams: what each opcode builds,
//! how memo references share values, and the errors of malformed streams.

use edgewood_import::pickle::{self, numpy, Limits, PickleError, Value};
use edgewood_import::sklearn::{normalise_row, numpy_sum};

use crate::util::{fixture, PickleWriter};

fn run(bytes: &[u8]) -> Result<pickle::Pickle<'_>, PickleError> {
    pickle::run(bytes, true, Limits::default())
}

fn reason(bytes: &[u8]) -> String {
    run(bytes).unwrap_err().to_string()
}

#[test]
fn scalars_strings_and_containers() {
    let mut w = PickleWriter::new(4);
    w.op(b'(')
        .int(-5)
        .op(b'K')
        .op(200)
        .op(0x8a)
        .op(2)
        .op(0x00)
        .op(0x80) // LONG1 -32768
        .op(b'G');
    w.0.extend_from_slice(&1.5f64.to_be_bytes());
    w.str("héllo").op(b'N').op(0x88).op(b'l');
    let stream = w.stop();
    let p = run(&stream).unwrap();
    let items = p.as_seq(p.root).unwrap();
    assert_eq!(p.as_i64(items[0]), Some(-5));
    assert_eq!(p.as_i64(items[1]), Some(200));
    assert_eq!(p.as_i64(items[2]), Some(-32768));
    assert_eq!(p.as_f64(items[3]), Some(1.5));
    assert_eq!(p.as_str(items[4]), Some("héllo"));
    assert_eq!(p.get(items[5]), &Value::None);
    assert_eq!(p.get(items[6]), &Value::Bool(true));
    assert_eq!(p.protocol, 4);
}

#[test]
fn memo_references_share_one_value() {
    // d = {}; memoize; d['k'] = d is a cycle: built, not followed.
    let mut w = PickleWriter::new(4);
    w.op(b'}').op(0x94).str("k").op(b'h').op(0).op(b's');
    let stream = w.stop();
    let p = run(&stream).unwrap();
    assert_eq!(p.dict_get(p.root, "k"), Some(p.root));
    // [x, x, x] where x is a large string: stored once.
    let mut w = PickleWriter::new(4);
    w.op(b']')
        .op(b'(')
        .bytes(&[1; 4096])
        .op(0x94)
        .op(b'h')
        .op(0)
        .op(b'h')
        .op(0)
        .op(b'e');
    let stream = w.stop();
    let p = run(&stream).unwrap();
    let items = p.as_seq(p.root).unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|&i| i == items[0]));
}

#[test]
fn the_vm_refuses_a_global_without_knowing_scikit_learn() {
    let mut w = PickleWriter::new(4);
    w.stack_global("os", "system").op(b')').op(b'R');
    let err = run(&w.stop()).unwrap_err();
    assert_eq!(
        err,
        PickleError::RefusedGlobal {
            module: "os".into(),
            name: "system".into(),
            offset: 14,
        }
    );
    assert_eq!(
        err.to_string(),
        "refused to call os.system (at byte 14): it is not on the pickle allow-list"
    );
}

#[test]
fn malformed_streams_name_the_problem_and_offset() {
    assert_eq!(
        run(&[0x80, 4, b'a']).unwrap_err(),
        PickleError::Malformed {
            offset: 2,
            reason: "stack underflow".into()
        }
    );
    assert!(reason(&[0x80, 9]).contains("unsupported pickle protocol 9"));
    assert!(reason(&[0x80, 4, b'N']).contains("the stream ends before STOP"));
    assert!(reason(&[0x80, 4, b'h', 3, b'.']).contains("memo entry 3 is not defined"));
    assert!(reason(&[0x80, 4, b'P', b'x', b'\n', b'.']).contains("0x50 (PERSID)"));
    assert!(reason(&[0x80, 4, 0x82, 1, b'.']).contains("EXT1"));
    // A length that runs past the end.
    assert!(reason(&[0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10])
        .contains("needs 1152921504606846976 more bytes"));
    // REDUCE on something that is not an allowed class.
    let mut w = PickleWriter::new(4);
    w.str("os").op(b')').op(b'R');
    assert!(reason(&w.stop()).contains("REDUCE on a value that is not an allowed class"));
    // STACK_GLOBAL of non-strings.
    assert!(
        reason(&[0x80, 4, b'K', 1, b'K', 2, 0x93, b'.']).contains("STACK_GLOBAL needs two strings")
    );
    // Invalid UTF-8.
    assert!(reason(&[0x80, 4, 0x8c, 1, 0xff, b'.']).contains("not valid UTF-8"));
}

#[test]
fn reduce_and_build_only_record() {
    // copyreg._reconstructor(numpy.ndarray, builtins.object, None) + BUILD: inert.
    let mut w = PickleWriter::new(2);
    w.global("copy_reg", "_reconstructor")
        .op(b'(')
        .global("numpy", "ndarray")
        .global("__builtin__", "object")
        .op(b'N')
        .op(b't')
        .op(b'R')
        .op(b'}')
        .str("a")
        .int(1)
        .op(b's')
        .op(b'b');
    let stream = w.stop();
    let p = run(&stream).unwrap();
    let o = p.object(p.root).unwrap();
    assert_eq!(p.class_of(o).path(), "numpy.ndarray");
    assert_eq!(p.attr(p.root, "a").and_then(|a| p.as_i64(a)), Some(1));
}

/// `_reconstruct(ndarray, (0,), b'b')` + BUILD (1, shape, dtype, False, data).
fn reconstructed(descr: &str, endian: &str, elsize: i32, shape: &[i32], data: &[u8]) -> Vec<u8> {
    let mut w = PickleWriter::new(4);
    w.stack_global("numpy._core.multiarray", "_reconstruct")
        .stack_global("numpy", "ndarray")
        .int(0)
        .op(0x85)
        .bytes(b"b")
        .op(0x87)
        .op(b'R')
        .op(b'(')
        .int(1)
        .op(b'(');
    for &d in shape {
        w.int(d);
    }
    w.op(b't')
        .stack_global("numpy", "dtype")
        .str(descr)
        .op(0x89)
        .op(0x88)
        .op(0x87)
        .op(b'R')
        .op(b'(')
        .int(3)
        .str(endian)
        .op(b'N')
        .op(b'N')
        .op(b'N')
        .int(elsize)
        .int(-1)
        .int(0)
        .op(b't')
        .op(b'b')
        .op(0x89)
        .bytes(data)
        .op(b't')
        .op(b'b');
    w.stop()
}

#[test]
fn numpy_arrays_of_each_kind() {
    let data: Vec<u8> = [1.0f64, -2.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let stream = reconstructed("f8", "<", -1, &[2], &data);
    let p = run(&stream).unwrap();
    assert_eq!(
        numpy::array(&p, p.root).unwrap().to_f64().unwrap(),
        [1.0, -2.5]
    );
    // Big-endian int32.
    let data: Vec<u8> = [7i32, -1].iter().flat_map(|v| v.to_be_bytes()).collect();
    let stream = reconstructed("i4", ">", -1, &[2], &data);
    let p = run(&stream).unwrap();
    assert_eq!(numpy::array(&p, p.root).unwrap().to_i64().unwrap(), [7, -1]);
    // Fixed-width unicode, 3 characters per cell.
    let data: Vec<u8> = "ab\0xyz"
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    let stream = reconstructed("U3", "<", 12, &[2], &data);
    let p = run(&stream).unwrap();
    let a = numpy::array(&p, p.root).unwrap();
    assert_eq!(numpy::strings(&p, &a).unwrap(), ["ab", "xyz"]);
    // A shape that does not match the data.
    let stream = reconstructed("f8", "<", -1, &[3], &[0; 16]);
    let p = run(&stream).unwrap();
    let err = numpy::array(&p, p.root).unwrap_err();
    assert!(err.contains("needs 24 bytes, the pickle holds 16"), "{err}");
    // Unsupported dtypes are named.
    let stream = reconstructed("c16", "<", -1, &[1], &[0; 16]);
    let p = run(&stream).unwrap();
    assert!(numpy::array(&p, p.root)
        .unwrap_err()
        .contains("unsupported dtype \"c16\""));
}

#[test]
fn numpy_summation_order_matches_numpy() {
    // np.sum(axis=1) of rows v[:n], v_i = ((i × 2654435761) mod 1000003) / 7, from numpy 2.4.
    let v: Vec<f64> = (1..400u64)
        .map(|i| ((i * 2654435761) % 1000003) as f64 / 7.0)
        .collect();
    let expected: &[(usize, u64)] = &[
        (1, 0x40edd74492492492),
        (2, 0x410661736db6db6e),
        (7, 0x4121581edb6db6dc),
        (8, 0x41232f87b6db6db7),
        (9, 0x4126e464db6db6dc),
        (15, 0x41322ba592492493),
        (16, 0x4134030e6db6db6e),
        (17, 0x41349b27db6db6dc),
        (100, 0x415d16cb9b6db6db),
        (127, 0x4162059020000001),
        (128, 0x41623a71cdb6db6e),
        (129, 0x416247698db6db6e),
        (130, 0x4162723892492492),
        (200, 0x416b72acadb6db6e),
        (256, 0x4171d3216924924a),
        (257, 0x4171f40e20000000),
        (300, 0x4174da90e4924924),
        (399, 0x417b6b55e6db6db6),
    ];
    for &(n, bits) in expected {
        assert_eq!(numpy_sum(&v[..n]).to_bits(), bits, "n = {n}");
    }
    assert_eq!(normalise_row(&[0.0, 0.0]), [0.0, 0.0]);
    assert_eq!(normalise_row(&[1.0, 3.0]), [0.25, 0.75]);
}

/// Issue 16: joblib's array bytes are read in place, not copied, so that a forest's
/// node arrays (nearly all of its file) are in memory once. Every array's bytes, and
/// those `numpy::array` gives for the trees' `nodes` and `values`, lie inside the
/// stream the pickle ran on; a copy would lie elsewhere.
#[test]
fn joblib_arrays_are_read_in_place() {
    let stream = fixture("iris_rf10.joblib");
    let inside = |b: &[u8]| {
        let (s, r) = (stream.as_ptr_range(), b.as_ptr_range());
        !b.is_empty() && s.start <= r.start && r.end <= s.end
    };
    let p = run(&stream).unwrap();
    let mut arrays = 0;
    for v in &p.values {
        if let Value::Array(a) = v {
            assert!(inside(p.bytes_of(a)), "{a:?}");
            arrays += 1;
        }
    }
    // classes_ and each of the ten trees' nodes and values.
    assert!(arrays >= 21, "{arrays} arrays");
    let estimators = p.attr(p.root, "estimators_").unwrap();
    for &e in p.as_seq(estimators).unwrap() {
        let tree = p.attr(e, "tree_").unwrap();
        for key in ["nodes", "values"] {
            let a = numpy::array(&p, p.attr(tree, key).unwrap()).unwrap();
            assert!(inside(a.bytes()), "{key}");
        }
    }
}
