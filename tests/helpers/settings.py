"""Settings with a value off its default in every field a user edits most (for round trips)."""

from __future__ import annotations

from pathlib import Path

from app.config.settings import Settings


def full_settings(tmp_path: Path) -> Settings:
    return Settings(
        models_dir=str(tmp_path),
        n_ctx=16384,
        n_gpu_layers=20,
        n_threads=6,
        flash_attn=True,
        kv_cache_type="q8_0",
        temperature=0.3,
        top_p=0.9,
        top_k=20,
        min_p=0.1,
        repeat_penalty=1.1,
        max_tokens=2048,
        seed=42,
        system_prompt="Answer briefly.",
        system_prompt_preset="Brief",
        system_prompt_presets=[{"name": "Brief", "text": "Answer briefly."}],
        theme="dark",
        editor_font_family="JetBrains Mono",
        editor_font_size=13,
        completion_enabled=False,
        completion_delay_ms=400,
        hub_endpoint="http://127.0.0.1:9/",
        hub_offline=True,
        remote_engines=[
            {
                "id": "abc123",
                "name": "GPU box",
                "base_url": "http://gpu:8000/v1",
                "model": "deepseek-ai/DeepSeek-Coder-V2-Instruct",
                "kind": "vllm",
            }
        ],
        active_engine="abc123",
        local_server_enabled=True,
        local_server_port=8081,
    )
