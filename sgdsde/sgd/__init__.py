"""Real minibatch SGD on small networks, its gradient noise, and its stochastic modified equations.

* :mod:`.data` — teacher–student data and the bundled digits set;
* :mod:`.minibatch` — ensembles of SGD runs (with/without replacement, momentum, schedules, SVAG);
* :mod:`.noise` — the minibatch covariance Σ = D/B in low-rank form, the noise-to-signal ratio;
* :mod:`.sme` — order-1/order-2/momentum SMEs as LangevinSDEs;
* :mod:`.exact` — exactly solvable oracles (Li–Tai–E model 5.1, the multiplicative-noise
  model, stationary covariances).
"""

from .data import Dataset as Dataset
from .data import load_digits as load_digits
from .data import teacher_student as teacher_student
from .exact import GaussianQuadraticModel as GaussianQuadraticModel
from .exact import MultiplicativeQuadraticModel as MultiplicativeQuadraticModel
from .exact import additive_sgd_covariance as additive_sgd_covariance
from .exact import lyapunov_covariance as lyapunov_covariance
from .exact import sgd_stationary_covariance as sgd_stationary_covariance
from .minibatch import BatchSampler as BatchSampler
from .minibatch import InverseTimeDecay as InverseTimeDecay
from .minibatch import MinibatchSGD as MinibatchSGD
from .minibatch import StepDecay as StepDecay
from .minibatch import run_sgd as run_sgd
from .noise import SGDNoise as SGDNoise
from .noise import covariance_scale as covariance_scale
from .noise import gradient_covariance as gradient_covariance
from .noise import noise_to_signal as noise_to_signal
from .noise import noise_trace as noise_trace
from .sme import ModifiedLoss as ModifiedLoss
from .sme import momentum_sme as momentum_sme
from .sme import sme as sme
from .trace import SGDTrace as SGDTrace
from .trace import sgd_trace as sgd_trace
