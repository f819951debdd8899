"""DeepSeek-Coder Desktop: a code editor and a chat with a local DeepSeek-Coder model."""

__version__ = "0.1.0"
APP_NAME = "DeepSeek-Coder Desktop"
APP_ID = "io.github.dscoder.DeepSeekCoderDesktop"
