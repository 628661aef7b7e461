"""A throwaway Spark standalone cluster on loopback (one master, N one-core workers), started from
the pip `pyspark` package's sbin/spark-daemon.sh (the package has no start-master.sh), for the
Spark engine's tests and benchmarks. Everything (logs, pids, work folders) lives in one temp folder.

    with LoopbackCluster(workers=2) as master_url:
        ... evergreen run --engine spark --spark-master <master_url> ...
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time


def spark_home() -> str:
    import pyspark

    return os.path.dirname(os.path.abspath(pyspark.__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    def __init__(self, workers: int = 2, cores: int = 1, memory: str = "2g", pin: bool = False):
        """`pin`: worker i (and the executors it starts) runs on CPU i-1 only (taskset), so a
        one-core worker on this machine is one core, its JVM's GC and JIT threads included, like a
        one-core machine of its own; the driver is not pinned."""
        self.pin = pin
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.dir = tempfile.mkdtemp(prefix="evergreen-spark-cluster-")
        self.port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        home = spark_home()
        self.daemon = os.path.join(home, "sbin", "spark-daemon.sh")
        self.env = dict(
            os.environ,
            SPARK_HOME=home,
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOG_DIR=os.path.join(self.dir, "logs"),
            SPARK_PID_DIR=os.path.join(self.dir, "pids"),
            SPARK_WORKER_DIR=os.path.join(self.dir, "work"),
            SPARK_NO_DAEMONIZE="",
        )
        self.env.pop("SPARK_NO_DAEMONIZE")

    def _daemon(self, *args, cpu=None):
        prefix = ["taskset", "-c", str(cpu)] if cpu is not None else []
        subprocess.run([*prefix, "bash", self.daemon, *args], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def _master_log(self) -> str:
        logs = os.path.join(self.dir, "logs")
        text = ""
        for name in os.listdir(logs) if os.path.isdir(logs) else []:
            if "Master" in name and name.endswith(".out"):
                with open(os.path.join(logs, name), errors="replace") as f:
                    text += f.read()
        return text

    def start(self) -> str:
        self._daemon("start", "org.apache.spark.deploy.master.Master", "1", "--host", "127.0.0.1",
                     "--port", str(self.port), "--webui-port", str(free_port()))
        for i in range(1, self.workers + 1):
            self._daemon("start", "org.apache.spark.deploy.worker.Worker", str(i), "--host", "127.0.0.1",
                         "--cores", str(self.cores), "--memory", self.memory, "--webui-port", str(free_port()),
                         self.url, cpu=(i - 1) % os.cpu_count() if self.pin else None)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self._master_log().count("Registering worker") >= self.workers:
                return self.url
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the loopback Spark cluster did not start; logs in {self.dir}/logs")

    def stop(self):
        for i in range(1, self.workers + 1):
            subprocess.run(["bash", self.daemon, "stop", "org.apache.spark.deploy.worker.Worker", str(i)],
                           env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["bash", self.daemon, "stop", "org.apache.spark.deploy.master.Master", "1"],
                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
