"""The formats `celeba export` writes: their names, and which write a folder or need a file.
Apart from formats.exporting, which imports pandas: the command line's checks and its
completion read them before any command runs."""

EXPORT_FORMATS = ("onehot", "long", "parquet", "jsonl", "imagefolder", "hf")
FOLDER_FORMATS = ("imagefolder", "hf")
FILE_ONLY_FORMATS = ("parquet",)
