"""A resident Spark runner for many evergreen jobs (issue 27): `spark-submit runner.py --serve
SPOOL` started once, so every `--engine spark` run with EVERGREEN_SPARK_SERVICE=SPOOL shares one
JVM and one Spark session instead of paying ~10 s of start-up and planning warm-up per case.

    with SparkService(master="local[2]") as spool:
        env = dict(os.environ, EVERGREEN_SPARK_SERVICE=spool)
        ... evergreen run --engine spark ...   (with env)
"""
import os
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONF = {"spark.ui.enabled": "false", "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.legacy.parquet.nanosAsLong": "true"}


def spark_submit() -> str:
    home = os.environ.get("SPARK_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "spark-submit")):
        return os.path.join(home, "bin", "spark-submit")
    found = shutil.which("spark-submit")
    if found:
        return found
    import pyspark

    return os.path.join(os.path.dirname(os.path.abspath(pyspark.__file__)), "bin", "spark-submit")


class SparkService:
    def __init__(self, master: str = "local[2]"):
        self.master = master
        self.dir = tempfile.mkdtemp(prefix="evergreen-spark-service-")
        self.proc = None

    def start(self, timeout: float = 180) -> str:
        runner = os.path.join(self.dir, "runner.py")
        shutil.copy(os.path.join(ROOT, "src", "engine", "spark", "runner.py"), runner)
        args = [spark_submit(), "--master", self.master, "--name", "evergreen-service"]
        for k, v in CONF.items():
            args += ["--conf", f"{k}={v}"]
        self.log = open(os.path.join(self.dir, "service.log"), "w")
        self.proc = subprocess.Popen([*args, runner, "--serve", self.dir], stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL, env=dict(os.environ, SPARK_LOCAL_IP="127.0.0.1"))
        beat = os.path.join(self.dir, "heartbeat")
        deadline = time.time() + timeout
        while not os.path.exists(beat):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise SystemExit(f"spark service did not start: {open(self.log.name).read()[-3000:]}")
            time.sleep(0.2)
        return self.dir

    def stop(self):
        if self.proc is not None:
            open(os.path.join(self.dir, "stop"), "w").close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
