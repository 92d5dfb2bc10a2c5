"""Execute a notebook with nbclient on the exformer kernel, keeping outputs and widget state."""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary


def main(src: str, dst: str) -> None:
    nb = nbformat.read(src, as_version=4)
    # The kernel runs in the output's folder, so files the notebook writes land beside it.
    out_dir = os.path.dirname(os.path.abspath(dst))
    client = NotebookClient(nb, kernel_name="exformer", timeout=900, startup_timeout=300,
                            store_widget_state=True, record_timing=True,
                            resources={"metadata": {"path": out_dir}})
    t0 = time.time()
    client.execute()
    nbformat.write(nb, dst)
    # You ran it: trusted on this machine, so JupyterLab shows its saved views (not only the PNGs).
    NotebookNotary().sign(nbformat.read(dst, as_version=4))
    print(f"executed {src} in {time.time() - t0:.1f} s -> {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
