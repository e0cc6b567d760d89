global using Peer = Hailo.TestSupport.WyomingPeer;
