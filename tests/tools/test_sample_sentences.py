"""tools.sample_sentences: nested seeded samples, lines copied as they are."""

from tools import sample_sentences as ss


def _write(tmp_path, n):
    text = "-DOCSTART- O\n\n" + "".join(f"w{i}\tB-x\nend{i}\tO\n \n" for i in range(n))
    p = tmp_path / "in.conll"
    p.write_text(text, encoding="utf-8")
    return p


def test_samples_are_nested_and_in_file_order(tmp_path):
    p = _write(tmp_path, 50)
    blocks = ss.read_blocks(str(p))
    assert len(blocks) == 50 and blocks[0] == ["w0\tB-x", "end0\tO"]  # DOCSTART dropped
    small, big = ss.sample(blocks, 10, 1), ss.sample(blocks, 30, 1)
    assert all(b in big for b in small)
    order = [blocks.index(b) for b in big]
    assert order == sorted(order) and len(set(order)) == 30
    assert ss.sample(blocks, 10, 2) != small


def test_cli_writes_blocks_and_never_replaces(tmp_path, capsys):
    p = _write(tmp_path, 5)
    out = tmp_path / "out.conll"
    assert ss.main([str(p), "5", "-o", str(out)]) == 0
    assert out.read_text() == "".join(f"w{i}\tB-x\nend{i}\tO\n\n" for i in range(5))
    assert ss.main([str(p), "4", "-o", str(out)]) == 1
    assert "out.conll exists; choose another -o" in capsys.readouterr().err
    assert out.read_text().count("\n\n") == 5
    assert ss.main([str(p), "6", "-o", str(tmp_path / "x")]) == 1
    assert "asked for 6 sentences; the file has 5" in capsys.readouterr().err
