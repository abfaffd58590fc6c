/*
 * The leak guard's tokeniser (`linkage.extract.leakguard`): every token of a piece of bytes, upper-cased, as
 * Arrow large_binary buffers, with where each one starts.
 *
 * A token is what the regular expression
 *     [A-Za-z0-9]{6,}(?:SEP[A-Za-z0-9]{4}(?![A-Za-z0-9]))?
 * finds scanning left to right, SEP being one of the written separators of a personnummer (- + space, a no-break
 * space, an en dash or a minus sign in UTF-8, and a no-break space or an en dash in cp1252): a whole run of at
 * least six letters or digits, with a separator and exactly four more letters or digits after it where they follow.
 * No two separators start with the same byte, so at most one can follow a run.
 *
 * Why C: Python's regular expressions hold the interpreter lock, and the guard scans every file while the next one
 * is written (about 0.55 s of lock for each 64 MB of a CSV file here); this loop releases it and is one pass.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const struct { const char *bytes; Py_ssize_t len; } SEPARATORS[] = {
    {"\xc2\xa0", 2}, {"\xe2\x80\x93", 3}, {"\xe2\x88\x92", 3}, {"-", 1}, {"+", 1}, {" ", 1}, {"\xa0", 1},
    {"\x96", 1},
};

static inline int alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* The end of the token that starts at the run [start, run_end) (run_end - start >= 6). */
static Py_ssize_t token_end(const uint8_t *data, Py_ssize_t size, Py_ssize_t run_end)
{
    for (size_t s = 0; s < sizeof SEPARATORS / sizeof SEPARATORS[0]; s++) {
        Py_ssize_t len = SEPARATORS[s].len;
        if (run_end + len <= size && memcmp(data + run_end, SEPARATORS[s].bytes, (size_t)len) == 0) {
            Py_ssize_t at = run_end + len;
            if (at + 4 > size) {
                return run_end;
            }
            for (Py_ssize_t i = 0; i < 4; i++) {
                if (!alnum(data[at + i])) {
                    return run_end;
                }
            }
            return (at + 4 < size && alnum(data[at + 4])) ? run_end : at + 4;
        }
    }
    return run_end;
}

/* Calls `found(start, end)` for every token of data[0, size) in order. */
#define SCAN(data, size, found)                                             \
    do {                                                                    \
        Py_ssize_t i_ = 0;                                                  \
        while (i_ < (size)) {                                               \
            if (!alnum((data)[i_])) {                                       \
                i_++;                                                       \
                continue;                                                   \
            }                                                               \
            Py_ssize_t start_ = i_;                                         \
            while (i_ < (size) && alnum((data)[i_])) {                      \
                i_++;                                                       \
            }                                                               \
            if (i_ - start_ >= 6) {                                         \
                i_ = token_end((data), (size), i_);                         \
                found(start_, i_);                                          \
            }                                                               \
        }                                                                   \
    } while (0)

PyDoc_STRVAR(tokens_doc,
"tokens(data) -> (starts, offsets, values)\n--\n\n"
"The tokens of `data` in order: `starts` (int64, where each begins in `data`), and as the buffers of an Arrow\n"
"large_binary array, `offsets` (int64, one more than there are tokens) and `values` (the tokens upper-cased,\n"
"one after the other).");

static PyObject *tokens(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer input;
    if (!PyArg_ParseTuple(args, "y*", &input)) {
        return NULL;
    }
    const uint8_t *data = input.buf;
    Py_ssize_t size = input.len, count = 0, total = 0;
    Py_BEGIN_ALLOW_THREADS
#define COUNT(start, end) (count++, total += (end) - (start))
    SCAN(data, size, COUNT);
#undef COUNT
    Py_END_ALLOW_THREADS
    PyObject *starts = PyBytes_FromStringAndSize(NULL, count * 8);
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (count + 1) * 8);
    PyObject *values = PyBytes_FromStringAndSize(NULL, total);
    PyObject *result = NULL;
    if (starts != NULL && offsets != NULL && values != NULL) {
        int64_t *at = (int64_t *)PyBytes_AS_STRING(starts), *offset = (int64_t *)PyBytes_AS_STRING(offsets);
        uint8_t *out = (uint8_t *)PyBytes_AS_STRING(values);
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t written = 0;
        offset[0] = 0;
#define FILL(start, end)                                                                      \
        do {                                                                                  \
            *at++ = (start);                                                                  \
            for (Py_ssize_t k = (start); k < (end); k++) {                                    \
                uint8_t c = data[k];                                                          \
                out[written++] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;              \
            }                                                                                 \
            *++offset = written;                                                              \
        } while (0)
        SCAN(data, size, FILL);
#undef FILL
        Py_END_ALLOW_THREADS
        result = PyTuple_Pack(3, starts, offsets, values);
    }
    Py_XDECREF(starts);
    Py_XDECREF(offsets);
    Py_XDECREF(values);
    PyBuffer_Release(&input);
    return result;
}

static PyMethodDef methods[] = {
    {"tokens", tokens, METH_VARARGS, tokens_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_tokens",
    "The leak guard's tokeniser: runs of six or more letters or digits, with a separator and four more where they "
    "follow.",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__tokens(void)
{
    PyObject *m = PyModule_Create(&module);
    size_t n = sizeof SEPARATORS / sizeof SEPARATORS[0];
    PyObject *separators = m != NULL ? PyTuple_New((Py_ssize_t)n) : NULL;
    for (size_t s = 0; separators != NULL && s < n; s++) {
        PyObject *one = PyBytes_FromStringAndSize(SEPARATORS[s].bytes, SEPARATORS[s].len);
        if (one == NULL) {
            Py_CLEAR(separators);
            break;
        }
        PyTuple_SET_ITEM(separators, (Py_ssize_t)s, one);
    }
    if (separators == NULL || PyModule_AddObject(m, "SEPARATORS", separators) < 0) {
        Py_XDECREF(separators);
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
