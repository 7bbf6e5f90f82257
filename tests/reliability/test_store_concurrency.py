"""Several processes writing one store at once: no lost or duplicated decisions."""

import subprocess
import sys
import textwrap

WRITER = textwrap.dedent(
    """
    import sys
    from celeba_tui.store.label_store import LabelStore
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with LabelStore.open(path) as store:
        for i in range(n):
            label_id = store.add_label(f"{i % 10 + 1:06d}.jpg", "light", "left", who)
            if i % 7 == 0:
                store.revoke(label_id, who)
    print("done")
    """
)


def test_three_writers_lose_nothing(workspace):
    n = 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(workspace.store_path), who, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("alice", "bob", "carol")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
    with workspace.open_store() as store:
        history = store.history()
        undo_rows = n // 7 + 1
        assert len(history) == 3 * (n + undo_rows)
        assert history.groupby("annotator").size().to_dict() == {w: n + undo_rows for w in ("alice", "bob", "carol")}
        assert history["id"].is_unique
