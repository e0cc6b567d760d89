return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoDepth.DepthService.Definition);
