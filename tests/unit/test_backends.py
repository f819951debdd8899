"""Which llama.cpp CPU buffer types the engine asks for."""

from app.engine.backends import cpu_flags, use_extra_buffers


def test_amx_cpus_load_weights_without_extra_buffers():
    assert use_extra_buffers({"avx2", "avx512f", "amx_tile", "amx_int8"}, "auto") is False
    assert use_extra_buffers({"avx2", "fma"}, "auto") is True


def test_the_environment_can_force_either_way():
    assert use_extra_buffers({"amx_int8"}, "on") is True
    assert use_extra_buffers({"avx2"}, "off") is False


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_tile\n")
    assert cpu_flags(str(info)) == {"fpu", "sse2", "avx2", "amx_tile"}
    assert cpu_flags(str(tmp_path / "missing")) == set()
