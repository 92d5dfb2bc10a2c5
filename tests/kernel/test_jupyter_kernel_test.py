"""The standard jupyter_kernel_test suite against the installed `exformer` kernelspec."""
import unittest

import jupyter_kernel_test as jkt

KERNEL = "exformer"


class ExformerKernelTests(jkt.KernelTests):
    kernel_name = KERNEL
    language_name = "Rust"
    file_extension = ".rs"

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("something went to stderr");'

    completion_samples = [
        {"text": "let zebra_stripes_counted = 1;\nzebra_stri", "matches": {"zebra_stripes_counted"}},
    ]
    complete_code_samples = ["1 + 1", "let x = 1;", "fn f() -> i32 { 2 }", ":dep serde = \"1\""]
    incomplete_code_samples = ["fn f() {", "let v = vec![1, 2,", 'let s = "open']
    invalid_code_samples = ["fn f() { ) }", "}"]

    # A panic must fail the cell like any error (evcxr alone reports it as success).
    code_generate_error = 'let v: Vec<u8> = Vec::new();\nv[3];'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "6 * 7", "result": "42"},
        {"code": '"ab".to_string() + "c"', "result": '"abc"'},
    ]
    code_history_pattern = "6 *"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'exformer::display::html("<b>bold</b>");', "mime": "text/html"},
        {"code": 'exformer::display::markdown("*md*");', "mime": "text/markdown"},
    ]
    code_clear_output = 'println!("before"); exformer::display::clear_output(false);'
    code_inspect_sample = "std::collections::HashMap"


class ExformerIopubWelcome(jkt.IopubWelcomeTests):
    kernel_name = KERNEL
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
