import Hummingbird
import HPCBridge
