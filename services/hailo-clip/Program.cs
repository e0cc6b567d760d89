return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoClip.ClipService.Definition);
